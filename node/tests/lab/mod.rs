//! A network laboratory for tests: Linux network namespaces joined by a bridge or behind
//! routers that masquerade (NAT), partitions made with iptables, and real `maillon run`
//! processes inside them. Needs root, `ip` and `iptables`; [`Lab::unavailable`] says why
//! not where they are missing, so that a test can skip with that reason.

#![allow(dead_code, clippy::unwrap_used)]

pub mod nodes;
pub mod web;

use std::process::Command;

use anyhow::{bail, Context, Result};

/// Runs a command and fails with its output when it fails.
pub fn run(program: &str, args: &[&str]) -> Result<()> {
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program}"))?;
    if !output.status.success() {
        bail!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Runs a command inside a namespace.
pub fn in_ns(namespace: &str, program: &str, args: &[&str]) -> Result<()> {
    let mut full = vec!["netns", "exec", namespace, program];
    full.extend_from_slice(args);
    run("ip", &full)
}

/// A set of namespaces and links, removed when dropped.
pub struct Lab {
    tag: String,
    namespaces: Vec<String>,
    links: Vec<String>,
    admin_link: Option<String>,
}

/// One host: a namespace and its address on its network.
#[derive(Clone, Debug)]
pub struct Host {
    /// The namespace's name.
    pub namespace: String,
    /// Its IPv4 address.
    pub ip: String,
}

impl Lab {
    /// Why namespaces cannot be used here, if they cannot.
    pub fn unavailable() -> Option<String> {
        static PROBES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let probe = format!("mlprobe{}-{n}", std::process::id() % 100_000);
        if let Err(error) = run("ip", &["netns", "add", &probe]) {
            return Some(format!(
                "network namespaces cannot be created (run as root with iproute2): {error}"
            ));
        }
        let iptables = in_ns(&probe, "iptables", &["-L", "-n"]);
        let _ = run("ip", &["netns", "del", &probe]);
        iptables
            .err()
            .map(|error| format!("iptables does not work in a namespace: {error}"))
    }

    /// A new lab; `tag` (at most 4 characters) keeps names apart from other tests'.
    pub fn new(tag: &str) -> Lab {
        assert!(tag.len() <= 4, "the tag is part of 15-byte interface names");
        let lab = Lab {
            tag: tag.to_string(),
            namespaces: Vec::new(),
            links: Vec::new(),
            admin_link: None,
        };
        lab.remove_leftovers();
        lab
    }

    fn remove_leftovers(&self) {
        let prefix = format!("ml{}", self.tag);
        if let Ok(output) = Command::new("ip").args(["netns", "list"]).output() {
            for line in String::from_utf8_lossy(&output.stdout).lines() {
                let name = line.split_whitespace().next().unwrap_or("");
                if name.starts_with(&prefix) {
                    let _ = run("ip", &["netns", "del", name]);
                }
            }
        }
        if let Ok(output) = Command::new("ip").args(["-o", "link", "show"]).output() {
            for line in String::from_utf8_lossy(&output.stdout).lines() {
                let name = line.split(':').nth(1).unwrap_or("").trim();
                let name = name.split('@').next().unwrap_or("");
                if name.starts_with(&prefix) {
                    let _ = run("ip", &["link", "del", name]);
                }
            }
        }
    }

    /// A namespace with its loopback up.
    pub fn namespace(&mut self, name: &str) -> Result<String> {
        let full = format!("ml{}{name}", self.tag);
        run("ip", &["netns", "add", &full])?;
        self.namespaces.push(full.clone());
        in_ns(&full, "ip", &["link", "set", "lo", "up"])?;
        Ok(full)
    }

    /// A bridge (a switch) in its own namespace, named `name`.
    pub fn switch(&mut self, name: &str) -> Result<String> {
        let namespace = self.namespace(name)?;
        in_ns(&namespace, "ip", &["link", "add", "br0", "type", "bridge"])?;
        in_ns(&namespace, "ip", &["link", "set", "br0", "up"])?;
        Ok(namespace)
    }

    /// Plugs `namespace` into `switch` with `ip/prefix` on its end, named `interface`.
    pub fn plug(
        &mut self,
        switch: &str,
        namespace: &str,
        interface: &str,
        cidr: &str,
    ) -> Result<()> {
        let outer = format!("ml{}{}", self.tag, self.links.len());
        let inner = format!("{outer}i");
        run(
            "ip",
            &[
                "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ],
        )?;
        self.links.push(outer.clone());
        run("ip", &["link", "set", &outer, "netns", switch])?;
        run("ip", &["link", "set", &inner, "netns", namespace])?;
        in_ns(switch, "ip", &["link", "set", &outer, "master", "br0"])?;
        in_ns(switch, "ip", &["link", "set", &outer, "up"])?;
        in_ns(namespace, "ip", &["link", "set", &inner, "name", interface])?;
        in_ns(namespace, "ip", &["addr", "add", cidr, "dev", interface])?;
        in_ns(namespace, "ip", &["link", "set", interface, "up"])?;
        Ok(())
    }

    /// Gives the test itself (the root namespace) a port on `switch` at `ip` (a /24), so
    /// that it can drive the websites. The link goes when the switch's namespace does.
    pub fn admin(&mut self, switch: &str, ip: &str) -> Result<()> {
        let outer = format!("ml{}adm", self.tag);
        let inner = format!("{outer}i");
        run(
            "ip",
            &[
                "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ],
        )?;
        run("ip", &["link", "set", &inner, "netns", switch])?;
        in_ns(switch, "ip", &["link", "set", &inner, "master", "br0"])?;
        in_ns(switch, "ip", &["link", "set", &inner, "up"])?;
        run("ip", &["addr", "add", &format!("{ip}/24"), "dev", &outer])?;
        run("ip", &["link", "set", &outer, "up"])?;
        self.admin_link = Some(outer);
        Ok(())
    }

    /// A host on `switch` at `ip` (a /24).
    pub fn host(&mut self, switch: &str, name: &str, ip: &str) -> Result<Host> {
        let namespace = self.namespace(name)?;
        self.plug(switch, &namespace, "eth0", &format!("{ip}/24"))?;
        Ok(Host {
            namespace,
            ip: ip.to_string(),
        })
    }

    /// A host behind a home router: the router sits on `switch` at `public_ip` and
    /// masquerades the host's private network `<private>.0/24`; it lets no connection in
    /// from outside, but those to the host's HTTP port from `admin_ip` (the test driving
    /// the website, which routes `<private>.0/24` through the router). Returns the host, at
    /// `<private>.2`.
    pub fn host_behind_nat(
        &mut self,
        switch: &str,
        name: &str,
        public_ip: &str,
        private: &str,
        admin_ip: &str,
        http_port: u16,
    ) -> Result<Host> {
        let router = self.namespace(&format!("{name}r"))?;
        self.plug(switch, &router, "wan", &format!("{public_ip}/24"))?;
        let home = self.namespace(&format!("{name}h"))?;
        let lan = self.switch(&format!("{name}l"))?;
        let gateway = format!("{private}.1");
        let host_ip = format!("{private}.2");
        self.plug(&lan, &router, "lan", &format!("{gateway}/24"))?;
        self.plug(&lan, &home, "eth0", &format!("{host_ip}/24"))?;
        in_ns(&home, "ip", &["route", "add", "default", "via", &gateway])?;
        in_ns(&router, "sysctl", &["-qw", "net.ipv4.ip_forward=1"])?;
        let nat = [
            "-t",
            "nat",
            "-A",
            "POSTROUTING",
            "-o",
            "wan",
            "-j",
            "MASQUERADE",
        ];
        in_ns(&router, "iptables", &nat)?;
        let port = http_port.to_string();
        for rule in [
            vec!["-A", "FORWARD", "-i", "lan", "-o", "wan", "-j", "ACCEPT"],
            vec![
                "-A",
                "FORWARD",
                "-i",
                "wan",
                "-m",
                "conntrack",
                "--ctstate",
                "ESTABLISHED,RELATED",
                "-j",
                "ACCEPT",
            ],
            vec![
                "-A", "FORWARD", "-i", "wan", "-s", admin_ip, "-d", &host_ip, "-p", "tcp",
                "--dport", &port, "-j", "ACCEPT",
            ],
            vec!["-A", "FORWARD", "-i", "wan", "-j", "DROP"],
        ] {
            in_ns(&router, "iptables", &rule)?;
        }
        if self.admin_link.is_some() {
            run(
                "ip",
                &["route", "add", &format!("{private}.0/24"), "via", public_ip],
            )?;
        }
        Ok(Host {
            namespace: home,
            ip: host_ip,
        })
    }

    /// Drops every packet between `host` and each of `others`, in both directions.
    pub fn cut(&self, host: &Host, others: &[&Host]) -> Result<()> {
        for other in others {
            in_ns(
                &host.namespace,
                "iptables",
                &["-I", "INPUT", "-s", &other.ip, "-j", "DROP"],
            )?;
            in_ns(
                &host.namespace,
                "iptables",
                &["-I", "OUTPUT", "-d", &other.ip, "-j", "DROP"],
            )?;
        }
        Ok(())
    }

    /// Removes the drops [`Lab::cut`] added.
    pub fn heal(&self, host: &Host, others: &[&Host]) -> Result<()> {
        for other in others {
            in_ns(
                &host.namespace,
                "iptables",
                &["-D", "INPUT", "-s", &other.ip, "-j", "DROP"],
            )?;
            in_ns(
                &host.namespace,
                "iptables",
                &["-D", "OUTPUT", "-d", &other.ip, "-j", "DROP"],
            )?;
        }
        Ok(())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(link) = &self.admin_link {
            let _ = run("ip", &["link", "del", link]);
        }
        for namespace in self.namespaces.iter().rev() {
            let _ = run("ip", &["netns", "del", namespace]);
        }
    }
}
