//! Disk space and inodes (statvfs) on the file systems that hold the site, its logs and its
//! database, each file system once, named by its mount point from `/proc/self/mountinfo`.

use std::path::{Path, PathBuf};

use crate::contract::evidence::resources::Disk;
use crate::contract::evidence::stack::{Stack, Unseen};
use crate::system::{self, System, proxy};

/// Where a site's data usually is, besides what the configs say.
const USUAL_PATHS: &[&str] = &[
    "/",
    "/var/log",
    "/tmp",
    "/var/www",
    "/var/lib/mysql",
    "/var/lib/postgresql",
    "/var/lib/redis",
];

/// The usual places, the sites' roots and log directories, and the caller's paths.
pub fn paths_of(system: &System, stack: &Stack, extra: &[PathBuf]) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = USUAL_PATHS.iter().map(PathBuf::from).collect();
    for config in proxy::read_stack(system, stack) {
        paths.extend(
            config
                .sites
                .iter()
                .filter_map(|s| s.root.as_deref())
                .filter(|r| r.starts_with('/') && !r.contains('$'))
                .map(PathBuf::from),
        );
        paths.extend(config.logs.iter().filter_map(|l| l.path.parent()).map(Path::to_owned));
    }
    paths.extend(extra.iter().cloned());
    let mut seen = Vec::new();
    paths.retain(|p| {
        system.path(p).exists() && !seen.contains(p) && {
            seen.push(p.clone());
            true
        }
    });
    paths
}

/// statvfs of each path, one entry per file system.
pub fn measure(system: &System, paths: &[PathBuf], unseen: &mut Vec<Unseen>) -> Vec<Disk> {
    let mounts = mount_points(system);
    let mut disks: Vec<(u64, Disk)> = Vec::new();
    for path in paths {
        let stat = match rustix::fs::statvfs(system.path(path)) {
            Ok(s) => s,
            Err(e) => {
                let e = std::io::Error::from(e);
                unseen.push(Unseen::new(
                    format!("the disk holding {} ({})", path.display(), system::io_reason(&e)),
                    format!("sudo df -h {}", path.display()),
                ));
                continue;
            }
        };
        if stat.f_blocks == 0 {
            continue;
        }
        let shown = path.to_string_lossy().into_owned();
        if let Some((_, disk)) = disks.iter_mut().find(|(fsid, _)| *fsid == stat.f_fsid) {
            disk.paths.push(shown);
            continue;
        }
        let used = stat.f_blocks.saturating_sub(stat.f_bfree);
        let usable = used + stat.f_bavail;
        let inodes_used_pct = (stat.f_files > 0)
            .then(|| ceil_pct(stat.f_files.saturating_sub(stat.f_ffree), stat.f_files));
        let disk = Disk {
            mount: mount_of(&mounts, path).unwrap_or_else(|| shown.clone()),
            paths: vec![shown],
            size_bytes: stat.f_blocks.saturating_mul(stat.f_frsize),
            available_bytes: stat.f_bavail.saturating_mul(stat.f_frsize),
            used_pct: ceil_pct(used, usable),
            inodes_used_pct,
        };
        disks.push((stat.f_fsid, disk));
    }
    disks.into_iter().map(|(_, d)| d).collect()
}

/// Rounded up, as `df` does.
fn ceil_pct(used: u64, total: u64) -> u64 {
    if total == 0 { 0 } else { (used.saturating_mul(100)).div_ceil(total) }
}

/// Mount points from `/proc/self/mountinfo` (field 5, octal escapes decoded).
fn mount_points(system: &System) -> Vec<String> {
    let text = system.read_proc("self/mountinfo").unwrap_or_default();
    text.lines().filter_map(|l| l.split_whitespace().nth(4)).map(unescape).collect()
}

fn unescape(field: &str) -> String {
    field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
}

/// The longest mount point that contains `path`.
fn mount_of(mounts: &[String], path: &Path) -> Option<String> {
    mounts
        .iter()
        .filter(|m| path.starts_with(m))
        .max_by_key(|m| m.len())
        .map(|m| crate::sanitize::line(m).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_and_percentages() {
        let mounts = vec!["/".to_owned(), "/var".to_owned(), "/var/lib/mysql".to_owned()];
        assert_eq!(mount_of(&mounts, Path::new("/var/log/nginx")).as_deref(), Some("/var"));
        assert_eq!(mount_of(&mounts, Path::new("/srv")).as_deref(), Some("/"));
        assert_eq!(ceil_pct(951, 1000), 96);
        assert_eq!(unescape("/mnt/my\\040disk"), "/mnt/my disk");
        let disk = Disk {
            mount: "/".into(),
            paths: vec![],
            size_bytes: 0,
            available_bytes: 0,
            used_pct: 40,
            inodes_used_pct: Some(100),
        };
        assert!(disk.is_full());
        assert_eq!(disk.label(), "/ (100% inodes)");
    }

    #[test]
    fn the_real_root_is_measured() {
        let mut unseen = Vec::new();
        let disks =
            measure(&System::real(), &[PathBuf::from("/"), PathBuf::from("/tmp")], &mut unseen);
        assert!(!disks.is_empty() && disks[0].size_bytes > 0, "{disks:?} {unseen:?}");
    }
}
