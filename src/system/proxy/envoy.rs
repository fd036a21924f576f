//! Envoy's static bootstrap config in YAML: `static_resources.clusters` (their endpoints'
//! `socket_address` or `pipe`, `connect_timeout`) and the listeners' HTTP connection managers
//! (virtual hosts with their domains, the routes' `cluster` and `timeout`, file access logs) —
//! each with file and line. Dynamic resources (xDS) live in the control plane, not in files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::scalar::Scalar;
use super::source::Sources;
use crate::contract::evidence::web::{
    Address, Location, LogKind, LogPath, Protocol, ProxyConfig, ServerKind, Setting, Site, Upstream,
};
use crate::system::System;
use crate::yaml::{self, At};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Bootstrap {
    static_resources: Resources,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Resources {
    listeners: Vec<Listener>,
    clusters: Vec<Cluster>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Listener {
    address: Option<SocketHolder>,
    filter_chains: Vec<FilterChain>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FilterChain {
    filters: Vec<Filter>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Filter {
    typed_config: Option<Manager>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Manager {
    route_config: Option<RouteConfig>,
    access_log: Vec<AccessLog>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AccessLog {
    typed_config: Option<AccessLogConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AccessLogConfig {
    path: Option<At<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RouteConfig {
    virtual_hosts: Vec<VirtualHost>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct VirtualHost {
    name: String,
    domains: Vec<String>,
    routes: Vec<Route>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Route {
    route: Option<RouteAction>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RouteAction {
    cluster: Option<At<String>>,
    timeout: Option<At<Scalar>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Cluster {
    name: String,
    connect_timeout: Option<At<Scalar>>,
    load_assignment: Option<LoadAssignment>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LoadAssignment {
    endpoints: Vec<Locality>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Locality {
    lb_endpoints: Vec<LbEndpoint>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LbEndpoint {
    endpoint: Option<Endpoint>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Endpoint {
    address: Option<SocketHolder>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SocketHolder {
    socket_address: Option<SocketAddress>,
    pipe: Option<Pipe>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SocketAddress {
    address: Option<At<String>>,
    port_value: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Pipe {
    path: Option<At<String>>,
}

/// Reads an Envoy bootstrap file.
pub fn read(system: &System, main: &Path) -> ProxyConfig {
    let mut config = ProxyConfig::new(ServerKind::Envoy, main);
    let mut sources = Sources::new(system);
    if let Some(text) = sources.enter(main) {
        sources.leave();
        match yaml::from_str::<Bootstrap>(&main.display().to_string(), &text) {
            Ok(boot) => from_bootstrap(&boot.static_resources, main, &mut config),
            Err(e) => {
                config.problems.push(e.to_string().lines().next().unwrap_or_default().to_owned());
            }
        }
    }
    config.files = sources.files;
    config.unreadable = sources.unreadable;
    config
}

fn from_bootstrap(resources: &Resources, file: &Path, config: &mut ProxyConfig) {
    let clusters: BTreeMap<&str, &Cluster> =
        resources.clusters.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut routed = Vec::new();
    for listener in &resources.listeners {
        let listen: Vec<String> =
            listener.address.as_ref().and_then(socket_text).into_iter().collect();
        for manager in listener
            .filter_chains
            .iter()
            .flat_map(|c| &c.filters)
            .filter_map(|f| f.typed_config.as_ref())
        {
            access_logs(manager, file, config);
            for host in manager.route_config.iter().flat_map(|r| &r.virtual_hosts) {
                let mut site = Site {
                    name: host.name.clone(),
                    names: host.domains.clone(),
                    listen: listen.clone(),
                    ..Site::default()
                };
                for action in host.routes.iter().filter_map(|r| r.route.as_ref()) {
                    let Some(cluster) = action.cluster.as_ref() else { continue };
                    let route_timeout = action.timeout.as_ref().map(|t| Setting {
                        name: "route timeout".to_owned(),
                        value: t.value.0.clone(),
                        at: Location::new(file, t.pos.line),
                    });
                    if let Some(c) = clusters.get(cluster.value.as_str()) {
                        site.targets.extend(targets(c, file, route_timeout));
                        routed.push(cluster.value.clone());
                    }
                }
                config.sites.push(site);
            }
        }
    }
    let unrouted: Vec<&Cluster> =
        resources.clusters.iter().filter(|c| !routed.contains(&c.name)).collect();
    if !unrouted.is_empty() {
        let mut site = Site { name: "(clusters no route names)".to_owned(), ..Site::default() };
        site.targets = unrouted.iter().flat_map(|c| targets(c, file, None)).collect();
        config.sites.push(site);
    }
}

fn access_logs(manager: &Manager, file: &Path, config: &mut ProxyConfig) {
    for path in manager.access_log.iter().filter_map(|l| l.typed_config.as_ref()?.path.as_ref()) {
        if path.value.starts_with("/dev/") {
            continue;
        }
        config.logs.push(LogPath {
            kind: LogKind::EnvoyAccess,
            path: PathBuf::from(&path.value),
            at: Some(Location::new(file, path.pos.line)),
            site: None,
        });
    }
}

fn socket_text(holder: &SocketHolder) -> Option<String> {
    let socket = holder.socket_address.as_ref()?;
    let host = socket.address.as_ref()?.value.clone();
    let port = socket.port_value.as_ref()?.0.clone();
    Some(if host == "0.0.0.0" || host == "::" {
        format!("*:{port}")
    } else {
        format!("{host}:{port}")
    })
}

fn targets(cluster: &Cluster, file: &Path, route_timeout: Option<Setting>) -> Vec<Upstream> {
    let mut settings: Vec<Setting> = cluster
        .connect_timeout
        .iter()
        .map(|t| Setting {
            name: "connect_timeout".to_owned(),
            value: t.value.0.clone(),
            at: Location::new(file, t.pos.line),
        })
        .collect();
    settings.extend(route_timeout);
    let endpoints =
        cluster.load_assignment.iter().flat_map(|a| &a.endpoints).flat_map(|l| &l.lb_endpoints);
    endpoints
        .filter_map(|e| e.endpoint.as_ref()?.address.as_ref())
        .filter_map(|holder| endpoint(holder, cluster, file, &settings))
        .collect()
}

fn endpoint(
    holder: &SocketHolder,
    cluster: &Cluster,
    file: &Path,
    settings: &[Setting],
) -> Option<Upstream> {
    let (address, line, text) =
        if let Some(pipe) = holder.pipe.as_ref().and_then(|p| p.path.as_ref()) {
            (
                Address::Unix { path: PathBuf::from(&pipe.value) },
                pipe.pos.line,
                format!("pipe: {}", pipe.value),
            )
        } else {
            let socket = holder.socket_address.as_ref()?;
            let host = socket.address.as_ref()?;
            let port: u16 = socket.port_value.as_ref()?.0.parse().ok()?;
            (
                Address::Tcp { host: host.value.clone(), port },
                host.pos.line,
                format!("socket_address: {}:{port}", host.value),
            )
        };
    let at = Location::new(file, line);
    Some(Upstream {
        protocol: Protocol::Http,
        address,
        group: Some(cluster.name.clone()),
        directive: format!("cluster {} {text}", cluster.name),
        at: at.clone(),
        member_at: Some(at),
        standby: false,
        settings: settings.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_routes_timeouts_and_access_logs() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("envoy.yaml");
        std::fs::write(&main, "static_resources:\n  listeners:\n  - name: l0\n    address:\n      socket_address: { address: 0.0.0.0, port_value: 10000 }\n    filter_chains:\n    - filters:\n      - name: envoy.filters.network.http_connection_manager\n        typed_config:\n          \"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\n          access_log:\n          - name: envoy.access_loggers.file\n            typed_config:\n              \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n              path: /var/log/envoy/access.log\n          route_config:\n            virtual_hosts:\n            - name: shop\n              domains: [\"shop.example.com\"]\n              routes:\n              - match: { prefix: \"/\" }\n                route: { cluster: app, timeout: 30s }\n  clusters:\n  - name: app\n    connect_timeout: 0.25s\n    type: STATIC\n    load_assignment:\n      cluster_name: app\n      endpoints:\n      - lb_endpoints:\n        - endpoint:\n            address:\n              socket_address:\n                address: 127.0.0.1\n                port_value: 8080\n").unwrap();
        let config = read(&System::real(), &main);
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        let site = &config.sites[0];
        assert_eq!(
            (site.names.clone(), site.listen.clone()),
            (vec!["shop.example.com".to_owned()], vec!["*:10000".to_owned()])
        );
        let t = &site.targets[0];
        assert_eq!((t.address.to_string(), t.at.line), ("127.0.0.1:8080".to_owned(), 34));
        let names: Vec<(&str, &str)> =
            t.settings.iter().map(|s| (s.name.as_str(), s.value.as_str())).collect();
        assert_eq!(names, vec![("connect_timeout", "0.25s"), ("route timeout", "30s")]);
        assert_eq!(config.logs[0].path, PathBuf::from("/var/log/envoy/access.log"));
    }
}
