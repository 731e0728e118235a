//! DESIGN.md's permission table, written once. Templates ask it which actions to show;
//! handlers ask it whether to allow.

use super::Role;

/// Something a member may try to do in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    SeeMembers,
    /// Invite with the given role; `members_may_invite` is the organization's setting.
    Invite {
        role: Role,
        members_may_invite: bool,
    },
    /// Ask the Owners and Admins to invite someone with `role`, where the organization
    /// does not let members invite (`members_may_invite` false): a Member or Billing
    /// manager, for what a Member could invite if it did.
    RequestInvitation {
        role: Role,
        members_may_invite: bool,
    },
    /// See the pending access requests, and approve (inviting with `role`) or decline one.
    DecideAccessRequest {
        role: Role,
    },
    /// Resend or revoke an invitation of `role`, which `own` says the actor sent.
    ManageInvitation {
        role: Role,
        own: bool,
    },
    /// Change the role of a member holding `from` to `to`.
    ChangeRole {
        from: Role,
        to: Role,
    },
    /// Deactivate, activate or remove a member holding `target`.
    ManageMember {
        target: Role,
    },
    ManageSeats,
    /// Download the member list (the Members page's view, or the API's).
    ExportMembers,
    EditSettings,
    /// See and manage the organization's webhook endpoints and their deliveries.
    ManageWebhooks,
    SeeAuditLog,
    /// See and revoke the API tokens of every member.
    ManageTokens,
    /// Create, rename and delete teams, and add and remove their members.
    ManageTeams,
    Leave,
}

/// Whether `actor` may do `action`, by the table alone (last-Owner and self rules are
/// checked where the state is known).
pub fn allows(actor: Role, action: Action) -> bool {
    use Role::*;
    match action {
        Action::SeeMembers | Action::Leave => true,
        Action::Invite {
            role,
            members_may_invite,
        } => match actor {
            Owner => true,
            Admin => role != Owner,
            Member => members_may_invite && matches!(role, Member | Viewer),
            Billing | Viewer => false,
        },
        Action::RequestInvitation {
            role,
            members_may_invite,
        } => {
            !members_may_invite
                && matches!(actor, Member | Billing)
                && allows(
                    Member,
                    Action::Invite {
                        role,
                        members_may_invite: true,
                    },
                )
        }
        Action::DecideAccessRequest { role } => {
            matches!(actor, Owner | Admin)
                && allows(
                    actor,
                    Action::Invite {
                        role,
                        members_may_invite: false,
                    },
                )
        }
        Action::ManageInvitation { role, own } => match actor {
            Owner => true,
            Admin => role != Owner,
            Member => own,
            Billing | Viewer => false,
        },
        Action::ChangeRole { from, to } => match actor {
            Owner => true,
            Admin => !matches!(from, Owner | Admin) && to != Owner,
            _ => false,
        },
        Action::ManageMember { target } => match actor {
            Owner => true,
            Admin => !matches!(target, Owner | Admin),
            _ => false,
        },
        Action::ManageSeats | Action::ExportMembers => matches!(actor, Owner | Admin | Billing),
        Action::EditSettings | Action::ManageWebhooks => actor == Owner,
        Action::SeeAuditLog | Action::ManageTokens | Action::ManageTeams => {
            matches!(actor, Owner | Admin)
        }
    }
}

/// The roles `actor` may hand out in an invitation, most powerful first.
pub fn invitable_roles(actor: Role, members_may_invite: bool) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|&role| {
            allows(
                actor,
                Action::Invite {
                    role,
                    members_may_invite,
                },
            )
        })
        .collect()
}

/// The roles `actor` may ask an invitation for (empty: they may not ask).
pub fn requestable_roles(actor: Role, members_may_invite: bool) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|&role| {
            allows(
                actor,
                Action::RequestInvitation {
                    role,
                    members_may_invite,
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    #[test]
    fn access_requests_follow_the_table() {
        assert_eq!(requestable_roles(Member, false), vec![Member, Viewer]);
        assert_eq!(requestable_roles(Billing, false), vec![Member, Viewer]);
        for actor in [Owner, Admin, Viewer] {
            assert_eq!(requestable_roles(actor, false), vec![], "{actor:?}");
        }
        // Where members may invite, a Member invites instead.
        assert_eq!(requestable_roles(Member, true), vec![]);
        assert!(allows(Admin, Action::DecideAccessRequest { role: Member }));
        assert!(!allows(Admin, Action::DecideAccessRequest { role: Owner }));
        assert!(allows(Owner, Action::DecideAccessRequest { role: Owner }));
        for actor in [Billing, Member, Viewer] {
            assert!(!allows(actor, Action::DecideAccessRequest { role: Viewer }));
        }
    }

    #[test]
    fn everyone_sees_members_and_may_leave() {
        for actor in Role::ALL {
            assert!(allows(actor, Action::SeeMembers));
            assert!(allows(actor, Action::Leave));
        }
    }

    #[test]
    fn invite_follows_the_table() {
        assert_eq!(invitable_roles(Owner, false), Role::ALL.to_vec());
        assert_eq!(
            invitable_roles(Admin, false),
            vec![Admin, Billing, Member, Viewer]
        );
        assert_eq!(invitable_roles(Billing, true), vec![]);
        assert_eq!(invitable_roles(Member, false), vec![]);
        assert_eq!(invitable_roles(Member, true), vec![Member, Viewer]);
        assert_eq!(invitable_roles(Viewer, true), vec![]);
    }

    #[test]
    fn resend_and_revoke_follow_the_table() {
        let cases = [
            (Owner, Owner, false, true),
            (Admin, Owner, false, false),
            (Admin, Admin, false, true),
            (Billing, Viewer, true, false),
            (Member, Viewer, true, true),
            (Member, Viewer, false, false),
            (Viewer, Viewer, true, false),
        ];
        for (actor, role, own, expected) in cases {
            assert_eq!(
                allows(actor, Action::ManageInvitation { role, own }),
                expected,
                "{actor:?} on {role:?} own={own}"
            );
        }
    }

    #[test]
    fn role_changes_follow_the_table() {
        assert!(allows(
            Owner,
            Action::ChangeRole {
                from: Admin,
                to: Owner
            }
        ));
        assert!(allows(
            Admin,
            Action::ChangeRole {
                from: Member,
                to: Admin
            }
        ));
        assert!(!allows(
            Admin,
            Action::ChangeRole {
                from: Member,
                to: Owner
            }
        ));
        assert!(!allows(
            Admin,
            Action::ChangeRole {
                from: Admin,
                to: Member
            }
        ));
        assert!(!allows(
            Admin,
            Action::ChangeRole {
                from: Owner,
                to: Member
            }
        ));
        for actor in [Billing, Member, Viewer] {
            assert!(!allows(
                actor,
                Action::ChangeRole {
                    from: Viewer,
                    to: Member
                }
            ));
        }
    }

    #[test]
    fn managing_members_follows_the_table() {
        for target in Role::ALL {
            assert!(allows(Owner, Action::ManageMember { target }));
            assert_eq!(
                allows(Admin, Action::ManageMember { target }),
                !matches!(target, Owner | Admin)
            );
            for actor in [Billing, Member, Viewer] {
                assert!(!allows(actor, Action::ManageMember { target }));
            }
        }
    }

    #[test]
    fn seats_settings_audit_and_tokens_follow_the_table() {
        let expect = [
            (Owner, true, true, true),
            (Admin, true, false, true),
            (Billing, true, false, false),
            (Member, false, false, false),
            (Viewer, false, false, false),
        ];
        for (actor, seats, settings, audit) in expect {
            assert_eq!(allows(actor, Action::ManageSeats), seats, "{actor:?} seats");
            assert_eq!(
                allows(actor, Action::ExportMembers),
                seats,
                "{actor:?} export"
            );
            assert_eq!(
                allows(actor, Action::EditSettings),
                settings,
                "{actor:?} settings"
            );
            assert_eq!(
                allows(actor, Action::ManageWebhooks),
                settings,
                "{actor:?} webhooks"
            );
            assert_eq!(allows(actor, Action::SeeAuditLog), audit, "{actor:?} audit");
            assert_eq!(
                allows(actor, Action::ManageTokens),
                audit,
                "{actor:?} every member's tokens"
            );
            assert_eq!(allows(actor, Action::ManageTeams), audit, "{actor:?} teams");
        }
    }
}
