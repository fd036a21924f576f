//! Traefik's static config in YAML (`traefik.yml`): its entry points, log and access-log files,
//! the default `serversTransport` timeouts, and the file provider's dynamic config (`filename`,
//! or every `*.yml`/`*.yaml` of `directory`) with its routers, services, load-balancer servers
//! and `serversTransports` — each with file and line. TOML configs are not read (said so);
//! the Docker and Kubernetes providers live in their APIs, not in files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::scalar::Scalar;
use super::source::Sources;
use crate::contract::evidence::web::{
    Location, LogKind, LogPath, Protocol, ProxyConfig, ServerKind, Setting, Site, Upstream,
};
use crate::system::System;
use crate::yaml::{self, At};

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Static {
    entry_points: BTreeMap<String, EntryPoint>,
    providers: Providers,
    log: FileLog,
    access_log: FileLog,
    servers_transport: Transport,
    /// A static file may carry dynamic sections too (some setups keep one file).
    http: Dynamic,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EntryPoint {
    address: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Providers {
    file: Option<FileProvider>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileProvider {
    filename: Option<String>,
    directory: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct FileLog {
    file_path: Option<At<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Transport {
    forwarding_timeouts: BTreeMap<String, At<Scalar>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DynamicFile {
    http: Dynamic,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Dynamic {
    routers: BTreeMap<String, Router>,
    services: BTreeMap<String, Service>,
    servers_transports: BTreeMap<String, Transport>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Router {
    rule: String,
    service: String,
    entry_points: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Service {
    load_balancer: Option<LoadBalancer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct LoadBalancer {
    servers: Vec<Server>,
    servers_transport: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Server {
    url: Option<At<String>>,
}

/// Reads the static config and the file provider's dynamic files.
pub fn read(system: &System, main: &Path) -> ProxyConfig {
    let mut config = ProxyConfig::new(ServerKind::Traefik, main);
    let mut sources = Sources::new(system);
    if main.extension().is_some_and(|e| e == "toml") {
        config.problems.push(format!(
            "{}: Traefik's TOML form is not read by triage; its upstreams were not checked",
            main.display()
        ));
        return config;
    }
    if let Some(stat) = load::<Static>(&mut sources, main, &mut config) {
        logs(&stat, main, &mut config);
        let defaults = timeouts(&stat.servers_transport, main);
        let listen: BTreeMap<String, String> = stat
            .entry_points
            .iter()
            .filter_map(|(name, e)| e.address.clone().map(|a| (name.clone(), listen_text(&a))))
            .collect();
        sites(&stat.http, main, &defaults, &listen, &mut config);
        for file in dynamic_files(&mut sources, &stat.providers) {
            if let Some(dynamic) = load::<DynamicFile>(&mut sources, &file, &mut config) {
                sites(&dynamic.http, &file, &defaults, &listen, &mut config);
            }
        }
    }
    config.files = sources.files;
    config.unreadable = sources.unreadable;
    config.problems.extend(sources.problems);
    config
}

fn load<T: for<'de> Deserialize<'de>>(
    sources: &mut Sources<'_>,
    path: &Path,
    config: &mut ProxyConfig,
) -> Option<T> {
    let text = sources.enter(path)?;
    sources.leave();
    match yaml::from_str::<T>(&path.display().to_string(), &text) {
        Ok(value) => Some(value),
        Err(e) => {
            config.problems.push(e.to_string().lines().next().unwrap_or_default().to_owned());
            None
        }
    }
}

fn logs(stat: &Static, main: &Path, config: &mut ProxyConfig) {
    for (log, kind) in
        [(&stat.log, LogKind::TraefikLog), (&stat.access_log, LogKind::TraefikAccess)]
    {
        if let Some(path) = &log.file_path {
            config.logs.push(LogPath {
                kind,
                path: PathBuf::from(&path.value),
                at: Some(Location::new(main, path.pos.line)),
                site: None,
            });
        }
    }
}

fn timeouts(transport: &Transport, file: &Path) -> Vec<Setting> {
    transport
        .forwarding_timeouts
        .iter()
        .map(|(name, value)| Setting {
            name: name.clone(),
            value: value.value.0.clone(),
            at: Location::new(file, value.pos.line),
        })
        .collect()
}

/// `:80` → `*:80`.
fn listen_text(address: &str) -> String {
    let address = address.split('/').next().unwrap_or_default();
    if address.starts_with(':') { format!("*{address}") } else { address.to_owned() }
}

fn dynamic_files(sources: &mut Sources<'_>, providers: &Providers) -> Vec<PathBuf> {
    let Some(file) = &providers.file else { return Vec::new() };
    let mut files: Vec<PathBuf> = file.filename.iter().map(PathBuf::from).collect();
    if let Some(dir) = &file.directory {
        for pattern in ["*.yml", "*.yaml"] {
            files.extend(sources.expand(pattern, Path::new(dir)));
        }
    }
    files
}

/// One site per service: its servers, the host names of the routers that use it, and their
/// entry points' addresses.
fn sites(
    http: &Dynamic,
    file: &Path,
    defaults: &[Setting],
    listen: &BTreeMap<String, String>,
    config: &mut ProxyConfig,
) {
    for (name, service) in &http.services {
        let Some(lb) = &service.load_balancer else { continue };
        let mut settings = defaults.to_vec();
        if let Some(transport) =
            lb.servers_transport.as_ref().and_then(|t| http.servers_transports.get(t))
        {
            settings.extend(timeouts(transport, file));
        }
        let routers: Vec<&Router> = http.routers.values().filter(|r| &r.service == name).collect();
        let mut site = Site { name: name.clone(), ..Site::default() };
        for router in &routers {
            site.names.extend(hosts(&router.rule));
            let points = if router.entry_points.is_empty() {
                listen.keys().cloned().collect()
            } else {
                router.entry_points.clone()
            };
            site.listen.extend(points.iter().filter_map(|p| listen.get(p).cloned()));
        }
        site.targets =
            lb.servers.iter().filter_map(|s| upstream(s, name, file, &settings)).collect();
        config.sites.push(site);
    }
}

fn upstream(server: &Server, service: &str, file: &Path, settings: &[Setting]) -> Option<Upstream> {
    let url = server.url.as_ref()?;
    let (protocol, rest) = match url.value.split_once("://") {
        Some(("https", rest)) => (Protocol::Https, rest),
        Some((_, rest)) => (Protocol::Http, rest),
        None => (Protocol::Http, url.value.as_str()),
    };
    let default = if protocol == Protocol::Https { 443 } else { 80 };
    let (host, port) = super::split_host_port(rest.split('/').next()?, Some(default))?;
    let at = Location::new(file, url.pos.line);
    Some(Upstream {
        protocol,
        address: crate::contract::evidence::web::Address::Tcp { host, port },
        group: Some(service.to_owned()),
        directive: format!("url: {}", url.value),
        at: at.clone(),
        member_at: Some(at),
        standby: false,
        settings: settings.to_vec(),
    })
}

/// The names of ``Host(`a`, `b`)`` and ``HostSNI(`a`)`` in a router rule.
fn hosts(rule: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in rule.split("Host(").skip(1) {
        let inside = part.split(')').next().unwrap_or_default();
        out.extend(
            inside
                .split(',')
                .map(|h| h.trim().trim_matches('`').to_owned())
                .filter(|h| !h.is_empty()),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_servers_routers_and_timeouts() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("traefik.yml");
        let dynamic = dir.path().join("dynamic.yml");
        std::fs::write(&main, format!("entryPoints:\n  web:\n    address: \":80\"\nproviders:\n  file:\n    filename: {}\nlog:\n  filePath: /var/log/traefik/traefik.log\naccessLog:\n  filePath: /var/log/traefik/access.log\nserversTransport:\n  forwardingTimeouts:\n    dialTimeout: 5s\n", dynamic.display())).unwrap();
        std::fs::write(&dynamic, "http:\n  routers:\n    shop:\n      rule: \"Host(`shop.example.com`)\"\n      service: app\n      entryPoints: [web]\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"http://127.0.0.1:8080\"\n          - url: https://10.0.0.7\n").unwrap();
        let config = read(&System::real(), &main);
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        let site = &config.sites[0];
        assert_eq!(
            (site.names.clone(), site.listen.clone()),
            (vec!["shop.example.com".to_owned()], vec!["*:80".to_owned()])
        );
        assert_eq!(site.targets[0].address.to_string(), "127.0.0.1:8080");
        assert_eq!(site.targets[0].at.line, 11);
        assert_eq!(site.targets[1].protocol, Protocol::Https);
        assert_eq!(site.targets[0].settings[0].name, "dialTimeout");
        assert_eq!(config.logs.len(), 2);
        assert_eq!(config.files.len(), 2);
    }
}
