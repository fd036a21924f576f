//! The user database (`/etc/passwd`, `/etc/group`) as the local checks need it: names for uids,
//! and the groups a user is in, to judge who may open a socket.

use std::path::Path;

use super::System;

/// `/etc/passwd` and `/etc/group`, for names and group memberships.
#[derive(Debug, Clone, Default)]
pub struct Users {
    users: Vec<User>,
    groups: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    name: String,
    gid: u32,
    members: Vec<String>,
}

impl Users {
    /// Reads the databases; an unreadable one is simply empty (names then show as numbers).
    pub fn load(system: &System) -> Users {
        let passwd = system.read(Path::new("/etc/passwd")).unwrap_or_default();
        let group = system.read(Path::new("/etc/group")).unwrap_or_default();
        Users::parse(&passwd, &group)
    }

    pub fn parse(passwd: &str, group: &str) -> Users {
        let users = passwd
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                Some(User {
                    name: f.first()?.to_string(),
                    uid: f.get(2)?.parse().ok()?,
                    gid: f.get(3)?.parse().ok()?,
                })
            })
            .collect();
        let groups = group
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                let members = f.get(3).map_or_else(Vec::new, |m| {
                    m.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
                });
                Some(Group { name: f.first()?.to_string(), gid: f.get(2)?.parse().ok()?, members })
            })
            .collect();
        Users { users, groups }
    }

    pub fn by_name(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn by_uid(&self, uid: u32) -> Option<&User> {
        self.users.iter().find(|u| u.uid == uid)
    }

    /// The user's name, or the number when the database does not know it.
    pub fn user_name(&self, uid: u32) -> String {
        self.by_uid(uid).map_or_else(|| uid.to_string(), |u| u.name.clone())
    }

    pub fn group_name(&self, gid: u32) -> String {
        self.groups
            .iter()
            .find(|g| g.gid == gid)
            .map_or_else(|| gid.to_string(), |g| g.name.clone())
    }

    pub fn group_id(&self, name: &str) -> Option<u32> {
        self.groups.iter().find(|g| g.name == name).map(|g| g.gid)
    }

    /// The primary group and every group that lists the user as a member.
    pub fn groups_of(&self, user: &User) -> Vec<u32> {
        let mut gids = vec![user.gid];
        gids.extend(self.groups.iter().filter(|g| g.members.contains(&user.name)).map(|g| g.gid));
        gids.sort_unstable();
        gids.dedup();
        gids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups_parse() {
        let users = Users::parse(
            "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\nbroken\n",
            "root:x:0:\nwww-data:x:33:\nphp:x:1001:www-data,bob\n",
        );
        let www = users.by_name("www-data").unwrap();
        assert_eq!(users.groups_of(www), vec![33, 1001]);
        assert_eq!(users.user_name(33), "www-data");
        assert_eq!(users.user_name(4242), "4242");
        assert_eq!(users.group_id("php"), Some(1001));
    }
}
