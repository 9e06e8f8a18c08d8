//! A browser for the lab's tests: one person's HTTP client with a cookie store, which reads
//! CSRF tokens from pages and posts the websites' forms as a browser without JavaScript
//! would, over the lab's network.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// One answer of a site.
#[derive(Debug)]
pub struct Page {
    /// The HTTP status code.
    pub status: u16,
    /// Where a redirect leads.
    pub location: Option<String>,
    /// The HTML (or text).
    pub body: String,
}

impl Page {
    /// The form's CSRF token.
    pub fn csrf(&self) -> Result<String> {
        self.after("name=\"csrf\" value=\"", '"')
    }

    /// The text after `marker`, up to `end`.
    pub fn after(&self, marker: &str, end: char) -> Result<String> {
        let start = self
            .body
            .find(marker)
            .with_context(|| format!("no `{marker}` in the page: {}", self.body))?
            + marker.len();
        let rest = &self.body[start..];
        Ok(rest[..rest.find(end).unwrap_or(rest.len())].to_string())
    }
}

/// One person with a browser, on one site.
pub struct Browser {
    /// Who (for messages).
    pub who: String,
    /// The site's base URL.
    pub base: String,
    client: reqwest::Client,
}

impl Browser {
    /// A browser with no cookie yet.
    pub fn new(who: &str, base: &str) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Browser {
            who: who.into(),
            base: base.into(),
            client,
        }
    }

    async fn read(&self, response: reqwest::Response) -> Result<Page> {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        let body = response.text().await?;
        Ok(Page {
            status,
            location,
            body,
        })
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Page> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .with_context(|| format!("{}: GET {path}", self.who))?;
        self.read(response).await
    }

    /// Posts a form (urlencoded).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Result<Page> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .with_context(|| format!("{}: POST {path}", self.who))?;
        self.read(response).await
    }

    /// Reads `form_path`'s CSRF token, then posts `fields` with it to `path`.
    pub async fn submit(
        &self,
        form_path: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<Page> {
        let csrf = self.get(form_path).await?.csrf()?;
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form(path, &all).await
    }

    /// Signs in on `/connexion`; retries while the site is not ready for it (the node
    /// switching from founding to normal operation).
    pub async fn sign_in(&self, login: &str, passphrase: &str) -> Result<()> {
        let start = Instant::now();
        loop {
            let fields = [("login", login), ("passphrase", passphrase)];
            let answer = self.submit("/connexion", "/connexion", &fields).await;
            match answer {
                Ok(page) if page.location.as_deref() == Some("/") => return Ok(()),
                other if start.elapsed() > Duration::from_secs(60) => {
                    bail!("{} cannot sign in: {other:?}", self.who)
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }

    /// Joins as a candidate on `/inscription`; returns the candidacy code.
    pub async fn join(
        &self,
        name: &str,
        place: &str,
        login: &str,
        passphrase: &str,
    ) -> Result<String> {
        let fields = [
            ("name", name),
            ("place", place),
            ("login", login),
            ("passphrase", passphrase),
            ("confirm", passphrase),
            ("accept", "oui"),
        ];
        let done = self.submit("/inscription", "/inscription", &fields).await?;
        if done.location.as_deref() != Some("/candidature") {
            bail!("{} could not join: {} {}", self.who, done.status, done.body);
        }
        let page = self.get("/candidature").await?;
        let code = page.after("id=\"code\">", '<')?;
        Ok(code.chars().take(9).collect())
    }

    /// The signed-in person's public key (hex), read from their profile link.
    pub async fn key(&self) -> Result<String> {
        let page = self.get("/compte").await?;
        let key = page.after("/membre/", '"')?;
        if key.len() != 64 {
            bail!("{}: no key in /compte: {key}", self.who);
        }
        Ok(key)
    }

    /// Sponsors the candidate with `code`, waiting until the candidacy has reached this site.
    pub async fn sponsor(&self, code: &str) -> Result<()> {
        let start = Instant::now();
        let link = loop {
            let found = self.get(&format!("/parrainer?code={code}")).await?;
            if let Some(link) = found.location {
                break link;
            }
            if start.elapsed() > Duration::from_secs(60) {
                bail!("{}: candidacy {code} not found: {}", self.who, found.body);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let fields = [("relation", "1"), ("know", "oui"), ("note", "Voisine")];
        let signed = self.submit(&link, &link, &fields).await?;
        if !signed.body.contains("Votre parrainage est signé") {
            bail!(
                "{}: sponsorship of {code} refused: {}",
                self.who,
                signed.body
            );
        }
        Ok(())
    }

    /// Publishes an offer on `/publier` (the multipart form, without photos); returns the
    /// listing's link.
    pub async fn publish(&self, title: &str, place: &str) -> Result<String> {
        let csrf = self.get("/publier").await?.csrf()?;
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in [
            ("csrf", csrf.as_str()),
            ("sens", "offre"),
            ("title", title),
            ("category", "30"),
            ("description", "En bon état, à venir chercher."),
            ("price", "20"),
            ("place", place),
        ] {
            form = form.text(name.to_string(), value.to_string());
        }
        let response = self
            .client
            .post(format!("{}/publier", self.base))
            .multipart(form)
            .send()
            .await?;
        let page = self.read(response).await?;
        match page.location {
            Some(link) if link.starts_with("/annonce/") => Ok(link),
            _ => bail!(
                "{}: {title} not published: {} {}",
                self.who,
                page.status,
                page.body
            ),
        }
    }

    /// Waits until a search for `query` on this site shows `text`.
    pub async fn wait_for_search(&self, query: &str, text: &str, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            let page = self.get(&format!("/recherche?q={query}")).await?;
            if page.body.contains(text) {
                return Ok(());
            }
            if start.elapsed() > timeout {
                bail!(
                    "{}: `{query}` never showed `{text}`: {}",
                    self.base,
                    page.body
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Waits until `GET /api/v1/members/{key}` on this site answers `status`.
    pub async fn wait_for_status(&self, key: &str, status: &str, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            let page = self.get(&format!("/api/v1/members/{key}")).await?;
            let seen: serde_json::Value = serde_json::from_str(&page.body).unwrap_or_default();
            if seen["status"] == status {
                return Ok(());
            }
            if start.elapsed() > timeout {
                bail!("{}: {key} is {} not {status}", self.base, page.body);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
