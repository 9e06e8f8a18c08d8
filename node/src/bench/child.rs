//! A node in its own process, started from this same binary with `maillon run`, for the
//! benchmarks that measure a whole process: its start, its memory, its cold sync.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::BenchResult;

/// The configuration file of a benchmark's node process: loopback only, no metrics, the
/// default 64 MiB cache; `bootstrap` is its one peer, if any.
pub fn config_text(name: &str, data_dir: &str, bootstrap: Option<&str>) -> String {
    let bootstrap = bootstrap.map_or(String::new(), |b| format!("bootstrap = [\"{b}\"]\n"));
    format!(
        "[node]\nname = \"{name}\"\ndata_dir = \"{data_dir}\"\n\n\
         [network]\ncharter_file = \"charter.cbor\"\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\n\
         {bootstrap}mdns = false\n\n\
         [http]\nlisten = \"127.0.0.1:0\"\n\n[store]\ncache_mib = 64\n\n\
         [metrics]\nlisten = \"\"\n"
    )
}

/// A node process, killed (SIGKILL) when dropped.
pub struct ChildNode {
    /// The process; taken by [`ChildNode::stop`].
    child: Option<Child>,
    /// Started under [`CHILD_WRAPPER`]: the node may then be the child's own child.
    wrapped: bool,
    /// Its HTTP base URL, as it printed it on start.
    pub base: String,
}

/// The environment variable that, when set, chooses what the child node logs (a `RUST_LOG`
/// filter) and echoes its output on the benchmark's standard error.
pub const CHILD_LOG: &str = "MAILLON_BENCH_CHILD_LOG";

/// The environment variable that, when set, names a program that starts the child node
/// (`heaptrack`, `valgrind --tool=massif`): the child runs as `<wrapper> maillon run ...`.
pub const CHILD_WRAPPER: &str = "MAILLON_BENCH_CHILD_WRAPPER";

/// The child's log filter: errors only, unless [`CHILD_LOG`] names another.
fn child_log_filter() -> String {
    std::env::var(CHILD_LOG).unwrap_or_else(|_| "error".to_string())
}

impl ChildNode {
    /// Starts `maillon run --config <config>` and waits for the first line naming its HTTP
    /// address (printed as soon as the listener is bound, before the store is opened).
    pub async fn spawn(config: &Path) -> BenchResult<ChildNode> {
        let exe = std::env::current_exe()?;
        let wrapper = std::env::var_os(CHILD_WRAPPER);
        let wrapped = wrapper.is_some();
        let mut command = match wrapper {
            Some(wrapper) => {
                let mut command = Command::new(wrapper);
                command.arg(exe);
                command
            }
            None => Command::new(exe),
        };
        let mut child = command
            .arg("run")
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", child_log_filter())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let echo = std::env::var_os(CHILD_LOG).is_some();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if echo {
                    eprintln!("child: {line}");
                }
                if let Some(at) = line.find("http://") {
                    let _ = tx.send(line[at..].trim().to_string());
                }
            }
        });
        let mut node = ChildNode {
            child: Some(child),
            wrapped,
            base: String::new(),
        };
        node.base = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(120)))
            .await?
            .map_err(|_| "the node printed no HTTP address within 120 s")?;
        Ok(node)
    }

    /// The node's process id. Under a wrapper that starts the node as its own child
    /// (heaptrack), that child's; under one that runs it in place (valgrind), the child's.
    pub fn pid(&self) -> u32 {
        let Some(child) = self.child.as_ref() else {
            return 0;
        };
        if !self.wrapped {
            return child.id();
        }
        let exe = std::env::current_exe().ok();
        children_of(child.id())
            .into_iter()
            .find(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).ok() == exe)
            .unwrap_or(child.id())
    }

    /// Asks the node to stop as an operator would (SIGTERM) and waits for its exit (and its
    /// wrapper's), which must be a success: a clean stop.
    pub async fn stop(mut self) -> BenchResult<()> {
        signal(self.pid(), "-TERM")?;
        let mut child = self.child.take().ok_or("stopped already")?;
        let exit = tokio::task::spawn_blocking(move || child.wait()).await??;
        if !exit.success() {
            return Err(format!("the node exited with {exit} after SIGTERM").into());
        }
        Ok(())
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        // It may have exited already. Under a wrapper, the node first: killing the wrapper
        // alone would leave it running.
        if self.wrapped {
            let _ = signal(self.pid(), "-KILL");
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends a signal (`-TERM`, `-KILL`) to a process.
fn signal(pid: u32, which: &str) -> BenchResult<()> {
    let status = Command::new("kill")
        .arg(which)
        .arg(pid.to_string())
        .status()?;
    if !status.success() {
        return Err(format!("kill {which} {pid} failed").into());
    }
    Ok(())
}

/// The processes whose parent is `parent`, from `/proc/<pid>/stat` (the field after the
/// command's closing parenthesis is the state, then the parent's id).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                let after_command = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
                after_command.split(' ').nth(1) == Some(&parent.to_string())
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::children_of;

    #[test]
    fn the_children_of_a_process_are_found_and_not_its_grandchildren() {
        let mut shell = std::process::Command::new("sh")
            .arg("-c")
            .arg("sleep 30 & sleep 30 & wait")
            .spawn()
            .expect("sh starts");
        std::thread::sleep(std::time::Duration::from_millis(300));
        let ours = children_of(std::process::id());
        let the_shells = children_of(shell.id());
        for pid in &the_shells {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
        let _ = shell.kill();
        let _ = shell.wait();
        assert!(ours.contains(&shell.id()), "the shell is ours: {ours:?}");
        assert_eq!(the_shells.len(), 2, "the two sleeps: {the_shells:?}");
        assert!(
            the_shells.iter().all(|pid| !ours.contains(pid)),
            "grandchildren are not ours"
        );
    }
}
