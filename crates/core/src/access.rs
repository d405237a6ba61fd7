//! Who may do what: kinds of posts, the permissions each gives, and the caller a request
//! acts as. A post gives its permissions on the subtree of its area.

use serde::{Deserialize, Serialize};

use crate::scope::Scope;

/// A kind of post (岗位).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostKind {
    /// 驻村指挥长: a town leader stationed in a village.
    VillageCommander,
    /// 村(居)指挥长 / 站长: usually the village party branch secretary.
    StationChief,
    GridChief,
    GridMember,
    UnitChief,
    HouseholdHead,
    PartySecretary,
    Volunteer,
    HotlineAgent,
    Admin,
}

impl PostKind {
    pub const ALL: [PostKind; 10] = [
        PostKind::VillageCommander,
        PostKind::StationChief,
        PostKind::GridChief,
        PostKind::GridMember,
        PostKind::UnitChief,
        PostKind::HouseholdHead,
        PostKind::PartySecretary,
        PostKind::Volunteer,
        PostKind::HotlineAgent,
        PostKind::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PostKind::VillageCommander => "village_commander",
            PostKind::StationChief => "station_chief",
            PostKind::GridChief => "grid_chief",
            PostKind::GridMember => "grid_member",
            PostKind::UnitChief => "unit_chief",
            PostKind::HouseholdHead => "household_head",
            PostKind::PartySecretary => "party_secretary",
            PostKind::Volunteer => "volunteer",
            PostKind::HotlineAgent => "hotline_agent",
            PostKind::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<PostKind> {
        PostKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What the post lets its holder do inside its subtree.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            PostKind::Admin => &[
                ReadRegistry,
                WriteRegistry,
                RevealPersonal,
                ReadSensitiveTags,
                ManageAreas,
                ManagePosts,
                ReadAudit,
                ManageTagKinds,
            ],
            PostKind::VillageCommander | PostKind::StationChief => {
                &[ReadRegistry, WriteRegistry, RevealPersonal, ReadSensitiveTags, ManageAreas, ManagePosts, ReadAudit]
            }
            PostKind::GridChief => {
                &[ReadRegistry, WriteRegistry, RevealPersonal, ReadSensitiveTags, ManageAreas, ManagePosts]
            }
            PostKind::GridMember => &[ReadRegistry, WriteRegistry, RevealPersonal],
            PostKind::UnitChief => &[ReadRegistry, WriteRegistry],
            PostKind::HotlineAgent => &[ReadRegistry, RevealPersonal],
            PostKind::PartySecretary => &[ReadRegistry],
            PostKind::HouseholdHead | PostKind::Volunteer => &[],
        }
    }
}

/// One right a post can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    ReadRegistry,
    WriteRegistry,
    /// See ID numbers and phones unmasked, with a stated purpose.
    RevealPersonal,
    /// See tags that are sensitive personal information.
    ReadSensitiveTags,
    /// Create, rename and close areas below the post's area.
    ManageAreas,
    /// Appoint and end posts below (or at) the post's area.
    ManagePosts,
    ReadAudit,
    /// Add kinds of tags for the whole deployment.
    ManageTagKinds,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ReadRegistry => "read_registry",
            Permission::WriteRegistry => "write_registry",
            Permission::RevealPersonal => "reveal_personal",
            Permission::ReadSensitiveTags => "read_sensitive_tags",
            Permission::ManageAreas => "manage_areas",
            Permission::ManagePosts => "manage_posts",
            Permission::ReadAudit => "read_audit",
            Permission::ManageTagKinds => "manage_tag_kinds",
        }
    }
}

/// Who a request acts as: an account through one of its posts, or the system itself (the
/// command line, the demo). The scope and permissions come from the post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account_id: Option<i64>,
    pub post_id: Option<i64>,
    pub kind: Option<PostKind>,
    scope: Scope,
    permissions: &'static [Permission],
}

const ALL_PERMISSIONS: &[Permission] = &[
    Permission::ReadRegistry,
    Permission::WriteRegistry,
    Permission::RevealPersonal,
    Permission::ReadSensitiveTags,
    Permission::ManageAreas,
    Permission::ManagePosts,
    Permission::ReadAudit,
    Permission::ManageTagKinds,
];

impl Caller {
    /// The deployment itself, with every right: for the command line and the demo builder.
    pub fn system() -> Caller {
        Caller { account_id: None, post_id: None, kind: None, scope: Scope::everything(), permissions: ALL_PERMISSIONS }
    }

    /// An account acting through a post with the subtree `scope`.
    pub fn for_post(account_id: i64, post_id: i64, kind: PostKind, scope: Scope) -> Caller {
        Caller {
            account_id: Some(account_id),
            post_id: Some(post_id),
            kind: Some(kind),
            scope,
            permissions: kind.permissions(),
        }
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub fn can(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }

    pub fn permissions(&self) -> &'static [Permission] {
        self.permissions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_kinds_round_trip_and_rank() {
        for k in PostKind::ALL {
            assert_eq!(PostKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(PostKind::parse("king"), None);
        assert!(PostKind::UnitChief.permissions().contains(&Permission::WriteRegistry));
        assert!(!PostKind::UnitChief.permissions().contains(&Permission::RevealPersonal));
        assert!(!PostKind::GridChief.permissions().contains(&Permission::ManageTagKinds));
        assert!(PostKind::Volunteer.permissions().is_empty());
        // Every permission a station chief has, an admin has too.
        for p in PostKind::StationChief.permissions() {
            assert!(PostKind::Admin.permissions().contains(p));
        }
    }

    #[test]
    fn callers_carry_their_post() {
        let c = Caller::for_post(3, 9, PostKind::GridChief, Scope::subtree("/1/2/3/4/"));
        assert!(c.can(Permission::ManagePosts));
        assert!(!c.can(Permission::ReadAudit));
        assert_eq!(c.scope().root_path(), "/1/2/3/4/");
        assert!(Caller::system().can(Permission::ManageTagKinds));
    }
}
