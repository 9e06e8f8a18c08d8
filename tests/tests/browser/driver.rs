//! Headless Chromium driven through chromedriver: starting the driver on a free loopback
//! port, one browser per person, and the page helpers the scenario uses (typing, pressing
//! buttons and waiting for the next page, polling with reloads, screenshots).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian's `chromium-driver` package puts the driver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The phone size every page is used at; screenshots add a desktop width.
const PHONE: (u32, u32) = (390, 844);
/// The desktop width of the screenshots.
const DESKTOP_WIDTH: u32 = 1280;

/// A chromedriver process, killed (with the browsers it started) when dropped.
pub struct Chromedriver {
    child: Child,
    /// Its WebDriver URL.
    pub url: String,
}

impl Chromedriver {
    /// Starts chromedriver on a free loopback port and waits until it answers. Fails with
    /// what to install when Chromium or its driver is missing.
    pub async fn start() -> Result<Chromedriver> {
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|p| !Path::new(p).exists())
            .collect();
        if !missing.is_empty() {
            bail!(
                "browser tests need Chromium and chromedriver, but {} is missing: install them with \
                 `apt-get install -y chromium chromium-driver` (scripts/test-all.sh does it as root)",
                missing.join(" and ")
            );
        }
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            listener.local_addr()?.port()
        };
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that the browsers it starts go with it.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .with_context(|| format!("could not start {CHROMEDRIVER}"))?;
        let mut driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let start = Instant::now();
        loop {
            if let Some(status) = driver.child.try_wait()? {
                bail!("chromedriver exited at start with {status}");
            }
            let ready = http
                .get(format!("{}/status", driver.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if let Ok(response) = ready {
                if let Ok(body) = response.json::<Value>().await {
                    if body["value"]["ready"] == json!(true) {
                        return Ok(driver);
                    }
                }
            }
            if start.elapsed() > Duration::from_secs(20) {
                bail!("chromedriver did not answer on {} within 20 s", driver.url);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and any browser left behind by a failed test.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One person's browser: its own Chromium with its own cookies.
pub struct Browser {
    client: Client,
    /// Who uses it, for failure messages.
    pub who: &'static str,
}

/// Compares the page text with `needle` ignoring runs of white space.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Browser {
    /// A new headless Chromium at phone size, speaking French.
    pub async fn open(driver: &Chromedriver, who: &'static str) -> Result<Browser> {
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    format!("--window-size={},{}", PHONE.0, PHONE.1),
                    "--lang=fr-FR",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-extensions",
                    "--disable-background-networking",
                    "--disable-sync",
                ],
                "prefs": { "intl.accept_languages": "fr-FR,fr" },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .with_context(|| format!("{who}: could not open a Chromium session"))?;
        let browser = Browser { client, who };
        browser.phone_size().await?;
        Ok(browser)
    }

    /// Ends the browser.
    pub async fn close(self) -> Result<()> {
        self.client.close().await?;
        Ok(())
    }

    /// Loads a page.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("{}: could not load {url}", self.who))
    }

    /// The current address.
    pub async fn url(&self) -> Result<String> {
        Ok(self.client.current_url().await?.to_string())
    }

    /// The visible text of the page.
    pub async fn text(&self) -> Result<String> {
        Ok(self.client.find(Locator::Css("body")).await?.text().await?)
    }

    /// The text of the page for a failure message.
    async fn report(&self) -> String {
        let url = self.url().await.unwrap_or_default();
        let text = self
            .text()
            .await
            .unwrap_or_else(|e| format!("(no text: {e})"));
        format!("at {url}, the page says:\n-----\n{text}\n-----")
    }

    /// Fails with `what` and the page's address and text.
    pub async fn fail<T>(&self, what: &str) -> Result<T> {
        Err(anyhow!("{}: {what}; {}", self.who, self.report().await))
    }

    /// Checks that the page shows `needle`; returns the page text.
    pub async fn expect(&self, step: &str, needle: &str) -> Result<String> {
        let text = self.text().await?;
        if !squeeze(&text).contains(&squeeze(needle)) {
            return self.fail(&format!("{step}: expected «{needle}»")).await;
        }
        Ok(text)
    }

    /// Checks that the page does not show `needle`.
    pub async fn expect_not(&self, step: &str, needle: &str) -> Result<()> {
        if squeeze(&self.text().await?).contains(&squeeze(needle)) {
            return self
                .fail(&format!("{step}: did not expect «{needle}»"))
                .await;
        }
        Ok(())
    }

    /// Checks that the address contains `part`; returns the address.
    pub async fn expect_url(&self, step: &str, part: &str) -> Result<String> {
        let url = self.url().await?;
        if !url.contains(part) {
            return self
                .fail(&format!("{step}: expected the address to contain «{part}»"))
                .await;
        }
        Ok(url)
    }

    /// Loads `url` again and again until it shows `needle`, for at most `timeout`.
    pub async fn reload_until(
        &self,
        step: &str,
        url: &str,
        needle: &str,
        timeout: Duration,
    ) -> Result<String> {
        let start = Instant::now();
        loop {
            self.goto(url).await?;
            let text = self.text().await.unwrap_or_default();
            if squeeze(&text).contains(&squeeze(needle)) {
                return Ok(text);
            }
            if start.elapsed() > timeout {
                return self
                    .fail(&format!(
                        "{step}: «{needle}» did not show within {timeout:?} of reloading"
                    ))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Types `value` into the field with this id, replacing what it held.
    pub async fn fill(&self, id: &str, value: &str) -> Result<()> {
        let field = match self.client.find(Locator::Id(id)).await {
            Ok(field) => field,
            Err(_) => return self.fail(&format!("no field #{id}")).await,
        };
        field.clear().await?;
        field.send_keys(value).await?;
        Ok(())
    }

    /// Chooses an option of the select list with this id, by its visible label.
    pub async fn choose(&self, id: &str, label: &str) -> Result<()> {
        let select = self.client.find(Locator::Id(id)).await?;
        select
            .select_by_label(label)
            .await
            .with_context(|| format!("{}: #{id} has no option «{label}»", self.who))
    }

    /// Chooses an option of the select list with this id, by its value.
    pub async fn choose_value(&self, id: &str, value: &str) -> Result<()> {
        let select = self.client.find(Locator::Id(id)).await?;
        select
            .select_by_value(value)
            .await
            .with_context(|| format!("{}: #{id} has no option of value {value}", self.who))
    }

    /// Ticks the checkbox or radio button inside the label that reads `label`.
    pub async fn tick(&self, label: &str) -> Result<()> {
        let xpath = format!("//label[normalize-space(.)=\"{label}\"]/input");
        let input = match self.client.find(Locator::XPath(&xpath)).await {
            Ok(input) => input,
            Err(_) => return self.fail(&format!("no box labelled «{label}»")).await,
        };
        input.click().await?;
        if !input.is_selected().await? {
            return self.fail(&format!("the box «{label}» did not tick")).await;
        }
        Ok(())
    }

    /// Unfolds the `details` element with this id by pressing its summary, as a person would.
    pub async fn unfold(&self, id: &str) -> Result<()> {
        let summary = match self
            .client
            .find(Locator::Css(&format!("details#{id} > summary")))
            .await
        {
            Ok(summary) => summary,
            Err(_) => return self.fail(&format!("no folded section #{id}")).await,
        };
        summary.click().await?;
        let open = self
            .client
            .execute(
                &format!("return document.getElementById({id:?}).open;"),
                Vec::new(),
            )
            .await?;
        if open != Value::Bool(true) {
            return self.fail(&format!("#{id} did not unfold")).await;
        }
        Ok(())
    }

    /// Attaches a file to the file input with this id.
    pub async fn attach(&self, id: &str, file: &Path) -> Result<()> {
        let input = self.client.find(Locator::Id(id)).await?;
        input.send_keys(&file.display().to_string()).await?;
        Ok(())
    }

    /// The value of an element's property (an input's `value`).
    pub async fn property(&self, css: &str, name: &str) -> Result<String> {
        let element = self.client.find(Locator::Css(css)).await?;
        element
            .prop(name)
            .await?
            .with_context(|| format!("{}: {css} has no {name}", self.who))
    }

    /// The text of the first element matching `css`.
    pub async fn element_text(&self, css: &str) -> Result<String> {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => Ok(element.text().await?),
            Err(_) => self.fail(&format!("nothing matches {css}")).await,
        }
    }

    /// Follows the link that reads `text`, and waits for the next page.
    pub async fn follow(&self, text: &str) -> Result<()> {
        let link = match self.client.find(Locator::LinkText(text)).await {
            Ok(link) => link,
            Err(_) => return self.fail(&format!("no link «{text}»")).await,
        };
        self.mark().await?;
        link.click().await?;
        self.wait_for_new_page(text).await
    }

    /// Presses the submit button that reads `label` in the page's content, and waits until
    /// the next page has loaded.
    pub async fn press(&self, label: &str) -> Result<()> {
        let xpath = format!("//main//button[normalize-space(.)=\"{label}\"]");
        let button = match self.client.find(Locator::XPath(&xpath)).await {
            Ok(button) => button,
            Err(_) => return self.fail(&format!("no button «{label}»")).await,
        };
        self.mark().await?;
        button.click().await?;
        self.wait_for_new_page(label).await
    }

    /// Marks the current document, to tell when another one has replaced it.
    async fn mark(&self) -> Result<()> {
        self.client
            .execute("window.__maillonOld = true; return true;", Vec::new())
            .await?;
        Ok(())
    }

    async fn wait_for_new_page(&self, after: &str) -> Result<()> {
        let start = Instant::now();
        loop {
            let loaded = self
                .client
                .execute(
                    "return document.readyState === 'complete' && !window.__maillonOld;",
                    Vec::new(),
                )
                .await;
            if matches!(loaded, Ok(Value::Bool(true))) {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(30) {
                return self
                    .fail(&format!("no new page within 30 s after «{after}»"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until every image of the elements matching `css` has loaded with real pixels;
    /// returns how many there are.
    pub async fn images_loaded(&self, css: &str) -> Result<u64> {
        let script = format!(
            "const images = [...document.querySelectorAll({css:?})];
             return images.every(i => i.complete && i.naturalWidth > 0) ? images.length : -1;"
        );
        let result = self.client.execute(&script, Vec::new()).await?;
        Ok(result
            .as_i64()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0))
    }

    /// Sizes the window so that the page itself (the viewport) is `width` × `height`.
    async fn set_viewport(&self, width: u32, height: u32) -> Result<()> {
        self.client.set_window_size(width, height).await?;
        let inner = self
            .client
            .execute(
                "return [window.innerWidth, window.innerHeight];",
                Vec::new(),
            )
            .await?;
        let inner = |i: usize| u32::try_from(inner[i].as_u64().unwrap_or(0)).unwrap_or(0);
        let (extra_w, extra_h) = (
            width.saturating_sub(inner(0)),
            height.saturating_sub(inner(1)),
        );
        if extra_w > 0 || extra_h > 0 {
            self.client
                .set_window_size(width + extra_w, height + extra_h)
                .await?;
        }
        Ok(())
    }

    /// Back to the phone size the scenario runs at.
    pub async fn phone_size(&self) -> Result<()> {
        self.set_viewport(PHONE.0, PHONE.1).await
    }

    /// Runs axe-core on the page; fails with each violation it reports.
    pub async fn check_accessibility(&self, name: &str) -> Result<()> {
        let loaded = self
            .client
            .execute("return typeof window.axe;", Vec::new())
            .await?;
        if loaded != Value::String("object".into()) {
            self.client
                .execute(&super::axe::source()?, Vec::new())
                .await?;
        }
        let found = self
            .client
            .execute_async(super::axe::RUN, Vec::new())
            .await?;
        let violations: Vec<String> = serde_json::from_value(found)?;
        if !violations.is_empty() {
            return self
                .fail(&format!(
                    "axe-core finds on «{name}»:\n  {}",
                    violations.join("\n  ")
                ))
                .await;
        }
        Ok(())
    }

    /// Checks the page with axe-core at phone width, then saves it at phone and desktop
    /// widths, each as tall as the page, into `dir` as `{name}-390.png` and
    /// `{name}-1280.png`; returns the files.
    pub async fn screenshots(&self, dir: &Path, name: &str) -> Result<Vec<PathBuf>> {
        self.check_accessibility(name).await?;
        let mut saved = Vec::new();
        for width in [PHONE.0, DESKTOP_WIDTH] {
            self.set_viewport(width, PHONE.1).await?;
            let height = self
                .client
                .execute(
                    "return Math.ceil(document.documentElement.scrollHeight);",
                    Vec::new(),
                )
                .await?
                .as_u64()
                .unwrap_or(u64::from(PHONE.1));
            let height = u32::try_from(height.clamp(600, 5000)).unwrap_or(PHONE.1);
            self.set_viewport(width, height).await?;
            let png = self.client.screenshot().await?;
            let file = dir.join(format!("{name}-{width}.png"));
            std::fs::write(&file, png)
                .with_context(|| format!("could not write {}", file.display()))?;
            saved.push(file);
        }
        self.phone_size().await?;
        Ok(saved)
    }
}
