//! The life of a case: its states, the moves that change it and who may make each move.
//! `apply` is the whole state machine; the storage layer writes one event per move and checks
//! the actor against `MoveKind::actors`.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::area::Level;
use crate::escalation::{Escalation, escalate};

/// Where a case is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    Received,
    /// 受理 / 立案: valid and filed.
    Accepted,
    /// Not valid (duplicate, spam, out of remit), or merged into another case.
    Void,
    /// 派单: given to an owner post.
    Dispatched,
    /// 签收: the owner took it.
    Signed,
    /// The owner contacted the reporter.
    Responded,
    /// 办结: the owner reports it handled.
    Resolved,
    /// 核查: checked on site or confirmed by the reporter.
    Verified,
    /// 结案: final (until a reopen within the window).
    Closed,
}

impl CaseState {
    pub const ALL: [CaseState; 9] = [
        CaseState::Received,
        CaseState::Accepted,
        CaseState::Void,
        CaseState::Dispatched,
        CaseState::Signed,
        CaseState::Responded,
        CaseState::Resolved,
        CaseState::Verified,
        CaseState::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Received => "received",
            CaseState::Accepted => "accepted",
            CaseState::Void => "void",
            CaseState::Dispatched => "dispatched",
            CaseState::Signed => "signed",
            CaseState::Responded => "responded",
            CaseState::Resolved => "resolved",
            CaseState::Verified => "verified",
            CaseState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<CaseState> {
        CaseState::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Held by an owner who still has work to do: the states a deadline escalates.
    pub fn is_owned(self) -> bool {
        matches!(self, CaseState::Dispatched | CaseState::Signed | CaseState::Responded)
    }

    /// Neither void nor closed: shows in open-case lists.
    pub fn is_open(self) -> bool {
        !matches!(self, CaseState::Void | CaseState::Closed)
    }
}

impl std::fmt::Display for CaseState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name of a move, as written in the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MoveKind {
    Accept,
    Void,
    Dispatch,
    Sign,
    Respond,
    Resolve,
    Verify,
    /// Verification failed: back to the owner; counts as rework.
    Reject,
    Close,
    /// 回退: "not ours", back to the dispatcher.
    Return,
    /// 转办: staff give it to another owner.
    Transfer,
    /// 延期: the owner asks for more time.
    Extend,
    ApproveExtension,
    RefuseExtension,
    /// 上报: one level up, on a missed deadline or by the owner.
    Escalate,
    /// 吹哨: departments or co-building units summoned to the scene.
    Whistle,
    /// A summoned party's arrival and result.
    WhistleReport,
    Merge,
    Reopen,
    /// 回访: the reporter's rating.
    Callback,
    /// Waiting for the reporter: the clock stops.
    Pause,
    Resume,
    Comment,
    Attach,
    /// An unreasonable or unlawful request, approved by a reviewer: left out of appraisal.
    Exclude,
}

/// Who may make a move; the storage layer maps these to posts and checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Reporter,
    HotlineAgent,
    GridWorker,
    ApiClient,
    /// Staff of the community or town handling cases.
    Staff,
    Dispatcher,
    /// The post that owns the case now.
    Owner,
    /// A post above the owner (approves extensions, reviews exclusions).
    Superior,
    GridChief,
    /// The town or community that summons (吹哨).
    TownOrCommunity,
    /// The deadline jobs and other automatic rules.
    System,
}

impl Actor {
    pub const ALL: [Actor; 11] = [
        Actor::Reporter,
        Actor::HotlineAgent,
        Actor::GridWorker,
        Actor::ApiClient,
        Actor::Staff,
        Actor::Dispatcher,
        Actor::Owner,
        Actor::Superior,
        Actor::GridChief,
        Actor::TownOrCommunity,
        Actor::System,
    ];
}

impl MoveKind {
    pub const ALL: [MoveKind; 25] = [
        MoveKind::Accept,
        MoveKind::Void,
        MoveKind::Dispatch,
        MoveKind::Sign,
        MoveKind::Respond,
        MoveKind::Resolve,
        MoveKind::Verify,
        MoveKind::Reject,
        MoveKind::Close,
        MoveKind::Return,
        MoveKind::Transfer,
        MoveKind::Extend,
        MoveKind::ApproveExtension,
        MoveKind::RefuseExtension,
        MoveKind::Escalate,
        MoveKind::Whistle,
        MoveKind::WhistleReport,
        MoveKind::Merge,
        MoveKind::Reopen,
        MoveKind::Callback,
        MoveKind::Pause,
        MoveKind::Resume,
        MoveKind::Comment,
        MoveKind::Attach,
        MoveKind::Exclude,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MoveKind::Accept => "accept",
            MoveKind::Void => "void",
            MoveKind::Dispatch => "dispatch",
            MoveKind::Sign => "sign",
            MoveKind::Respond => "respond",
            MoveKind::Resolve => "resolve",
            MoveKind::Verify => "verify",
            MoveKind::Reject => "reject",
            MoveKind::Close => "close",
            MoveKind::Return => "return",
            MoveKind::Transfer => "transfer",
            MoveKind::Extend => "extend",
            MoveKind::ApproveExtension => "approve_extension",
            MoveKind::RefuseExtension => "refuse_extension",
            MoveKind::Escalate => "escalate",
            MoveKind::Whistle => "whistle",
            MoveKind::WhistleReport => "whistle_report",
            MoveKind::Merge => "merge",
            MoveKind::Reopen => "reopen",
            MoveKind::Callback => "callback",
            MoveKind::Pause => "pause",
            MoveKind::Resume => "resume",
            MoveKind::Comment => "comment",
            MoveKind::Attach => "attach",
            MoveKind::Exclude => "exclude",
        }
    }

    pub fn parse(s: &str) -> Option<MoveKind> {
        MoveKind::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Who may make the move, per the spec's table.
    pub fn actors(self) -> &'static [Actor] {
        use Actor::*;
        match self {
            MoveKind::Accept | MoveKind::Void => &[HotlineAgent, Staff],
            MoveKind::Dispatch => &[Dispatcher, System],
            MoveKind::Sign
            | MoveKind::Respond
            | MoveKind::Resolve
            | MoveKind::Return
            | MoveKind::Extend
            | MoveKind::Pause
            | MoveKind::Resume => &[Owner],
            MoveKind::Verify | MoveKind::Reject => &[GridChief, Staff, Reporter],
            MoveKind::Close => &[System, Staff],
            // Arbitration after two returns is made by staff of the common parent area.
            MoveKind::Transfer => &[Staff],
            MoveKind::ApproveExtension | MoveKind::RefuseExtension => &[Superior],
            MoveKind::Escalate => &[Owner, System],
            MoveKind::Whistle | MoveKind::WhistleReport => &[TownOrCommunity],
            MoveKind::Merge => &[HotlineAgent, Staff, Dispatcher],
            // The system on a low rating; the reporter saying "not fixed" within the window.
            MoveKind::Reopen => &[System, Reporter],
            // An agent may record a rating given by phone.
            MoveKind::Callback => &[Reporter, HotlineAgent],
            MoveKind::Comment | MoveKind::Attach => &[Reporter, HotlineAgent, GridWorker, Staff, Dispatcher, Owner],
            MoveKind::Exclude => &[Staff, Superior],
        }
    }

    /// Moves whose event must carry a reason.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            MoveKind::Void
                | MoveKind::Return
                | MoveKind::Transfer
                | MoveKind::Extend
                | MoveKind::RefuseExtension
                | MoveKind::Escalate
                | MoveKind::Reject
                | MoveKind::Reopen
                | MoveKind::Pause
                | MoveKind::Exclude
        )
    }

    /// States the move may be made from (further guards are in `apply`).
    pub fn from_states(self) -> &'static [CaseState] {
        use CaseState::*;
        const OWNED: &[CaseState] = &[Dispatched, Signed, Responded];
        const OPEN: &[CaseState] = &[Received, Accepted, Dispatched, Signed, Responded, Resolved, Verified];
        const ANY: &[CaseState] = &CaseState::ALL;
        match self {
            MoveKind::Accept => &[Received],
            MoveKind::Void => &[Received, Accepted],
            MoveKind::Dispatch => &[Accepted],
            MoveKind::Sign => &[Dispatched],
            MoveKind::Respond => &[Signed],
            MoveKind::Resolve => &[Responded],
            MoveKind::Verify | MoveKind::Reject => &[Resolved],
            // A consultation may be answered and closed at once.
            MoveKind::Close => &[Accepted, Verified],
            MoveKind::Return | MoveKind::Transfer | MoveKind::Escalate | MoveKind::Whistle => OWNED,
            MoveKind::Extend | MoveKind::Pause => &[Signed, Responded],
            MoveKind::ApproveExtension | MoveKind::RefuseExtension | MoveKind::Resume => OWNED,
            MoveKind::WhistleReport => OPEN,
            MoveKind::Merge => OPEN,
            MoveKind::Reopen | MoveKind::Callback => &[Resolved, Verified, Closed],
            MoveKind::Comment | MoveKind::Attach => ANY,
            MoveKind::Exclude => &[Received, Accepted, Dispatched, Signed, Responded, Resolved, Verified, Closed],
        }
    }
}

impl std::fmt::Display for MoveKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Did the reporter get what they asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    BasicallySatisfied,
    Dissatisfied,
}

impl Satisfaction {
    pub const ALL: [Satisfaction; 3] =
        [Satisfaction::Satisfied, Satisfaction::BasicallySatisfied, Satisfaction::Dissatisfied];

    pub fn as_str(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "satisfied",
            Satisfaction::BasicallySatisfied => "basically_satisfied",
            Satisfaction::Dissatisfied => "dissatisfied",
        }
    }

    pub fn parse(s: &str) -> Option<Satisfaction> {
        Satisfaction::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The reporter's rating at callback (回访).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rating {
    pub solved: bool,
    pub satisfaction: Satisfaction,
}

impl Rating {
    /// "Not solved" or "dissatisfied" reopens the case.
    pub fn reopens(&self) -> bool {
        !self.solved || self.satisfaction == Satisfaction::Dissatisfied
    }
}

/// Which side of a merge this case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Merge {
    /// This case is a duplicate folded into case `0`: it ends as void, its reporters move over.
    Into(i64),
    /// This case takes in a duplicate with `reporters` reporters.
    From { case_id: i64, reporters: u32 },
}

/// A move with what `apply` needs to know about it. Reasons, notes and photos travel in the
/// event and do not change the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "move")]
pub enum Move {
    Accept,
    Void,
    /// `owner_level`: the level of the owner post's area.
    Dispatch {
        owner_level: Level,
    },
    Sign,
    Respond,
    Resolve,
    Verify,
    Reject,
    Close,
    Return,
    Transfer {
        owner_level: Level,
    },
    Extend,
    ApproveExtension,
    RefuseExtension,
    Escalate,
    Whistle,
    WhistleReport,
    Merge(Merge),
    Reopen,
    Callback(Rating),
    Pause,
    Resume,
    Comment,
    Attach,
    Exclude,
}

impl Move {
    pub fn kind(&self) -> MoveKind {
        match self {
            Move::Accept => MoveKind::Accept,
            Move::Void => MoveKind::Void,
            Move::Dispatch { .. } => MoveKind::Dispatch,
            Move::Sign => MoveKind::Sign,
            Move::Respond => MoveKind::Respond,
            Move::Resolve => MoveKind::Resolve,
            Move::Verify => MoveKind::Verify,
            Move::Reject => MoveKind::Reject,
            Move::Close => MoveKind::Close,
            Move::Return => MoveKind::Return,
            Move::Transfer { .. } => MoveKind::Transfer,
            Move::Extend => MoveKind::Extend,
            Move::ApproveExtension => MoveKind::ApproveExtension,
            Move::RefuseExtension => MoveKind::RefuseExtension,
            Move::Escalate => MoveKind::Escalate,
            Move::Whistle => MoveKind::Whistle,
            Move::WhistleReport => MoveKind::WhistleReport,
            Move::Merge(_) => MoveKind::Merge,
            Move::Reopen => MoveKind::Reopen,
            Move::Callback(_) => MoveKind::Callback,
            Move::Pause => MoveKind::Pause,
            Move::Resume => MoveKind::Resume,
            Move::Comment => MoveKind::Comment,
            Move::Attach => MoveKind::Attach,
            Move::Exclude => MoveKind::Exclude,
        }
    }

    pub fn actors(&self) -> &'static [Actor] {
        self.kind().actors()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoveError {
    #[error("cannot {kind} a case that is {state}")]
    NotFrom { kind: MoveKind, state: CaseState },
    #[error("the owner was chosen by arbitration after two returns; that decision binds")]
    Binding,
    #[error("the case has no owner to escalate from")]
    NoOwner,
    #[error("an extension request is already waiting for a decision")]
    ExtensionPending,
    #[error("there is no extension request to decide")]
    NoExtensionRequest,
    #[error("the clock is already paused")]
    AlreadyPaused,
    #[error("the clock is not paused")]
    NotPaused,
    #[error("no summoned party is still expected")]
    NoOpenWhistle,
    #[error("a case cannot be merged into itself")]
    SelfMerge,
    #[error("the case is already excluded from appraisal")]
    AlreadyExcluded,
}

/// Returns by two owners send the case to the common parent area for arbitration.
pub const RETURNS_BEFORE_ARBITRATION: u32 = 2;

/// What the rules need to know about a case, folded from its event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: i64,
    pub state: CaseState,
    /// Level of the owner post's area, while there is an owner.
    pub owner_level: Option<Level>,
    /// Returns since staff last chose an owner.
    pub returns: u32,
    /// The owner was chosen by arbitration: no further return.
    pub binding: bool,
    pub extension_pending: bool,
    pub extensions: u32,
    pub paused: bool,
    pub open_whistles: u32,
    pub reporters: u32,
    pub rating: Option<Rating>,
    pub reopens: u32,
    /// Escalated at the top: under the county's supervision (督办).
    pub supervised: bool,
    pub excluded: bool,
    /// Set when merged into another case.
    pub merged_into: Option<i64>,
}

impl Case {
    /// A case as any channel creates it.
    pub fn new(id: i64) -> Case {
        Case {
            id,
            state: CaseState::Received,
            owner_level: None,
            returns: 0,
            binding: false,
            extension_pending: false,
            extensions: 0,
            paused: false,
            open_whistles: 0,
            reporters: 1,
            rating: None,
            reopens: 0,
            supervised: false,
            excluded: false,
            merged_into: None,
        }
    }

    /// Two owners have refused it: the common parent area must decide the next dispatch.
    pub fn needs_arbitration(&self) -> bool {
        self.state == CaseState::Accepted && self.returns >= RETURNS_BEFORE_ARBITRATION
    }

    /// Replays a log of moves from a fresh case.
    pub fn replay<'a>(id: i64, moves: impl IntoIterator<Item = &'a Move>) -> Result<Case, MoveError> {
        moves.into_iter().try_fold(Case::new(id), |c, m| apply(&c, m))
    }

    /// The ownerless leaving of the owned stages: no pause or extension survives it.
    fn leave_owner(&mut self) {
        self.paused = false;
        self.extension_pending = false;
    }
}

/// The state machine: the case after `mv`, or why `mv` is not allowed now.
pub fn apply(case: &Case, mv: &Move) -> Result<Case, MoveError> {
    use CaseState::*;
    let kind = mv.kind();
    if !kind.from_states().contains(&case.state) {
        return Err(MoveError::NotFrom { kind, state: case.state });
    }
    let mut c = case.clone();
    match *mv {
        Move::Accept => c.state = Accepted,
        Move::Void => c.state = Void,
        Move::Dispatch { owner_level } => {
            c.state = Dispatched;
            c.owner_level = Some(owner_level);
            c.binding = case.returns >= RETURNS_BEFORE_ARBITRATION;
        }
        Move::Sign => c.state = Signed,
        Move::Respond => c.state = Responded,
        Move::Resolve => {
            c.state = Resolved;
            c.leave_owner();
        }
        Move::Verify => c.state = Verified,
        // Back to the same owner to do it again; they know the reporter already.
        Move::Reject => c.state = Responded,
        Move::Close => c.state = Closed,
        Move::Return => {
            if case.binding {
                return Err(MoveError::Binding);
            }
            c.state = Accepted;
            c.owner_level = None;
            c.returns += 1;
            c.leave_owner();
        }
        Move::Transfer { owner_level } => {
            // Staff chose the new owner: a fresh start for the return count.
            c.state = Dispatched;
            c.owner_level = Some(owner_level);
            c.returns = 0;
            c.binding = false;
            c.leave_owner();
        }
        Move::Extend => {
            if case.extension_pending {
                return Err(MoveError::ExtensionPending);
            }
            c.extension_pending = true;
        }
        Move::ApproveExtension | Move::RefuseExtension => {
            if !case.extension_pending {
                return Err(MoveError::NoExtensionRequest);
            }
            c.extension_pending = false;
            if kind == MoveKind::ApproveExtension {
                c.extensions += 1;
            }
        }
        Move::Escalate => {
            let from = case.owner_level.ok_or(MoveError::NoOwner)?;
            match escalate(from) {
                // The new owner signs it as any owner does; the old one stays as a helper.
                Escalation::Up { level, .. } => {
                    c.state = Dispatched;
                    c.owner_level = Some(level);
                    c.leave_owner();
                }
                Escalation::Supervise => c.supervised = true,
            }
        }
        Move::Whistle => c.open_whistles += 1,
        Move::WhistleReport => {
            if case.open_whistles == 0 {
                return Err(MoveError::NoOpenWhistle);
            }
            c.open_whistles -= 1;
        }
        Move::Merge(Merge::Into(other)) => {
            if other == case.id {
                return Err(MoveError::SelfMerge);
            }
            c.state = Void;
            c.merged_into = Some(other);
            c.leave_owner();
        }
        Move::Merge(Merge::From { case_id, reporters }) => {
            if case_id == case.id {
                return Err(MoveError::SelfMerge);
            }
            c.reporters += reporters;
        }
        Move::Reopen => {
            // Same owner, same level; a shorter deadline is the storage layer's to set. A
            // consultation closed at once had no owner: it goes to dispatch.
            c.state = if case.owner_level.is_some() { Responded } else { Accepted };
            c.reopens += 1;
            c.rating = None;
        }
        Move::Callback(r) => c.rating = Some(r),
        Move::Pause => {
            if case.paused {
                return Err(MoveError::AlreadyPaused);
            }
            c.paused = true;
        }
        Move::Resume => {
            if !case.paused {
                return Err(MoveError::NotPaused);
            }
            c.paused = false;
        }
        Move::Comment | Move::Attach => {}
        Move::Exclude => {
            if case.excluded {
                return Err(MoveError::AlreadyExcluded);
            }
            c.excluded = true;
        }
    }
    Ok(c)
}

/// Priority rises with the number of reporters (the spec: "the reporter count raises
/// priority"): one step per doubling, so 1 → 0, 2-3 → 1, 4-7 → 2, …
pub fn reporter_priority(reporters: u32) -> u32 {
    reporters.max(1).ilog2()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(moves: &[Move]) -> Result<Case, MoveError> {
        Case::replay(1, moves)
    }

    const HAPPY: [Move; 8] = [
        Move::Accept,
        Move::Dispatch { owner_level: Level::Unit },
        Move::Sign,
        Move::Respond,
        Move::Resolve,
        Move::Verify,
        Move::Callback(Rating { solved: true, satisfaction: Satisfaction::Satisfied }),
        Move::Close,
    ];

    #[test]
    fn names_round_trip() {
        for s in CaseState::ALL {
            assert_eq!(CaseState::parse(s.as_str()), Some(s));
        }
        for k in MoveKind::ALL {
            assert_eq!(MoveKind::parse(k.as_str()), Some(k));
            assert!(!k.actors().is_empty());
            assert!(!k.from_states().is_empty());
        }
        for s in Satisfaction::ALL {
            assert_eq!(Satisfaction::parse(s.as_str()), Some(s));
        }
        assert_eq!(MoveKind::parse("escalate"), Some(MoveKind::Escalate));
        assert_eq!(MoveKind::parse("fly"), None);
    }

    #[test]
    fn happy_path_closes() {
        let c = run(&HAPPY).unwrap();
        assert_eq!(c.state, CaseState::Closed);
        assert_eq!(c.owner_level, Some(Level::Unit));
    }

    #[test]
    fn consultation_closes_at_once() {
        assert_eq!(run(&[Move::Accept, Move::Close]).unwrap().state, CaseState::Closed);
        assert_eq!(run(&[Move::Close]), Err(MoveError::NotFrom { kind: MoveKind::Close, state: CaseState::Received }));
    }

    #[test]
    fn illegal_moves_name_the_state() {
        let e = run(&[Move::Accept, Move::Resolve]).unwrap_err();
        assert_eq!(e.to_string(), "cannot resolve a case that is accepted");
        assert!(run(&[Move::Void, Move::Accept]).is_err());
        // Void is final except for comments.
        assert!(run(&[Move::Void, Move::Comment, Move::Attach]).is_ok());
        assert!(run(&[Move::Accept, Move::Dispatch { owner_level: Level::Grid }, Move::Resolve]).is_err());
    }

    #[test]
    fn two_returns_lead_to_a_binding_arbitration() {
        let d = |l| Move::Dispatch { owner_level: l };
        let c = run(&[Move::Accept, d(Level::Unit), Move::Return, d(Level::Grid), Move::Sign, Move::Return]).unwrap();
        assert_eq!(c.state, CaseState::Accepted);
        assert!(c.needs_arbitration());
        let c = apply(&c, &d(Level::Community)).unwrap();
        assert!(c.binding);
        let c = apply(&c, &Move::Sign).unwrap();
        assert_eq!(apply(&c, &Move::Return), Err(MoveError::Binding));
        // Staff may still transfer it, which lifts the binding.
        let c = apply(&c, &Move::Transfer { owner_level: Level::Grid }).unwrap();
        assert_eq!((c.state, c.binding, c.returns), (CaseState::Dispatched, false, 0));
    }

    #[test]
    fn extension_needs_one_request_and_one_decision() {
        let base = run(&HAPPY[..3]).unwrap();
        assert_eq!(apply(&base, &Move::ApproveExtension), Err(MoveError::NoExtensionRequest));
        let c = apply(&base, &Move::Extend).unwrap();
        assert_eq!(apply(&c, &Move::Extend), Err(MoveError::ExtensionPending));
        let c = apply(&c, &Move::ApproveExtension).unwrap();
        assert_eq!((c.extension_pending, c.extensions), (false, 1));
        let c = apply(&apply(&c, &Move::Extend).unwrap(), &Move::RefuseExtension).unwrap();
        assert_eq!(c.extensions, 1);
        // Before signing, the owner has nothing to extend.
        let d = run(&HAPPY[..2]).unwrap();
        assert!(apply(&d, &Move::Extend).is_err());
    }

    #[test]
    fn escalation_climbs_to_the_county_then_supervision() {
        let mut c = run(&HAPPY[..4]).unwrap();
        for level in [Level::Grid, Level::Community, Level::Town, Level::County] {
            c = apply(&c, &Move::Escalate).unwrap();
            assert_eq!((c.state, c.owner_level), (CaseState::Dispatched, Some(level)));
            c = apply(&c, &Move::Sign).unwrap();
        }
        c = apply(&c, &Move::Escalate).unwrap();
        assert!(c.supervised);
        assert_eq!((c.state, c.owner_level), (CaseState::Signed, Some(Level::County)));
    }

    #[test]
    fn whistles_are_counted_until_reported() {
        let c = run(&HAPPY[..3]).unwrap();
        assert_eq!(apply(&c, &Move::WhistleReport), Err(MoveError::NoOpenWhistle));
        let c = apply(&apply(&c, &Move::Whistle).unwrap(), &Move::Whistle).unwrap();
        assert_eq!(c.open_whistles, 2);
        let c = apply(&c, &Move::WhistleReport).unwrap();
        assert_eq!((c.open_whistles, c.state), (1, CaseState::Signed));
    }

    #[test]
    fn low_rating_reopens_to_the_same_owner() {
        let low = Rating { solved: false, satisfaction: Satisfaction::BasicallySatisfied };
        assert!(low.reopens());
        assert!(Rating { solved: true, satisfaction: Satisfaction::Dissatisfied }.reopens());
        assert!(!Rating { solved: true, satisfaction: Satisfaction::BasicallySatisfied }.reopens());
        let c = run(&HAPPY).unwrap();
        let c = apply(&c, &Move::Callback(low)).unwrap();
        let c = apply(&c, &Move::Reopen).unwrap();
        assert_eq!((c.state, c.reopens, c.owner_level, c.rating), (CaseState::Responded, 1, Some(Level::Unit), None));
        // A consultation closed at once has no owner to go back to.
        let c = run(&[Move::Accept, Move::Close, Move::Reopen]).unwrap();
        assert_eq!((c.state, c.owner_level), (CaseState::Accepted, None));
        // Failed verification also goes back to the owner.
        let c = run(&HAPPY[..5]).unwrap();
        assert_eq!(apply(&c, &Move::Reject).unwrap().state, CaseState::Responded);
    }

    #[test]
    fn merge_voids_the_duplicate_and_counts_reporters() {
        let dup = run(&HAPPY[..2]).unwrap();
        let gone = apply(&dup, &Move::Merge(Merge::Into(9))).unwrap();
        assert_eq!((gone.state, gone.merged_into), (CaseState::Void, Some(9)));
        assert_eq!(apply(&dup, &Move::Merge(Merge::Into(1))), Err(MoveError::SelfMerge));
        let kept = apply(&dup, &Move::Merge(Merge::From { case_id: 7, reporters: 2 })).unwrap();
        assert_eq!((kept.state, kept.reporters), (CaseState::Dispatched, 3));
        assert_eq!(reporter_priority(1), 0);
        assert_eq!(reporter_priority(3), 1);
        assert_eq!(reporter_priority(4), 2);
        assert_eq!(reporter_priority(0), 0);
    }

    #[test]
    fn pause_and_resume_pair_up() {
        let c = run(&HAPPY[..4]).unwrap();
        assert_eq!(apply(&c, &Move::Resume), Err(MoveError::NotPaused));
        let p = apply(&c, &Move::Pause).unwrap();
        assert_eq!(apply(&p, &Move::Pause), Err(MoveError::AlreadyPaused));
        assert!(!apply(&p, &Move::Resume).unwrap().paused);
        // Resolving stops the pause.
        assert!(!apply(&p, &Move::Resolve).unwrap().paused);
    }

    #[test]
    fn exclusion_once() {
        let c = apply(&Case::new(1), &Move::Exclude).unwrap();
        assert_eq!(apply(&c, &Move::Exclude), Err(MoveError::AlreadyExcluded));
    }

    #[test]
    fn reasons_and_actors_are_data() {
        assert!(MoveKind::Void.needs_reason());
        assert!(!MoveKind::Sign.needs_reason());
        assert_eq!(MoveKind::Sign.actors(), &[Actor::Owner]);
        assert!(MoveKind::Escalate.actors().contains(&Actor::System));
        assert_eq!(Move::Whistle.actors(), &[Actor::TownOrCommunity]);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use CaseState::*;
    use proptest::prelude::*;

    /// The spec's transitions, written out independently of `from_states`: (from, move, to).
    /// Moves not listed here never change the state.
    const SPEC: &[(CaseState, MoveKind, CaseState)] = &[
        (Received, MoveKind::Accept, Accepted),
        (Received, MoveKind::Void, Void),
        (Accepted, MoveKind::Void, Void),
        (Accepted, MoveKind::Dispatch, Dispatched),
        (Accepted, MoveKind::Close, Closed),
        (Dispatched, MoveKind::Sign, Signed),
        (Signed, MoveKind::Respond, Responded),
        (Responded, MoveKind::Resolve, Resolved),
        (Resolved, MoveKind::Verify, Verified),
        (Resolved, MoveKind::Reject, Responded),
        (Verified, MoveKind::Close, Closed),
        (Dispatched, MoveKind::Return, Accepted),
        (Signed, MoveKind::Return, Accepted),
        (Responded, MoveKind::Return, Accepted),
        (Dispatched, MoveKind::Transfer, Dispatched),
        (Signed, MoveKind::Transfer, Dispatched),
        (Responded, MoveKind::Transfer, Dispatched),
        (Dispatched, MoveKind::Escalate, Dispatched),
        (Signed, MoveKind::Escalate, Dispatched),
        (Responded, MoveKind::Escalate, Dispatched),
        (Resolved, MoveKind::Reopen, Responded),
        (Verified, MoveKind::Reopen, Responded),
        (Closed, MoveKind::Reopen, Responded),
        (Closed, MoveKind::Reopen, Accepted),
    ];

    fn level() -> impl Strategy<Value = Level> {
        prop::sample::select(Level::ALL.to_vec())
    }

    fn a_move() -> impl Strategy<Value = Move> {
        let rating = (any::<bool>(), prop::sample::select(Satisfaction::ALL.to_vec()))
            .prop_map(|(solved, satisfaction)| Rating { solved, satisfaction });
        prop_oneof![
            Just(Move::Accept),
            Just(Move::Void),
            level().prop_map(|owner_level| Move::Dispatch { owner_level }),
            Just(Move::Sign),
            Just(Move::Respond),
            Just(Move::Resolve),
            Just(Move::Verify),
            Just(Move::Reject),
            Just(Move::Close),
            Just(Move::Return),
            level().prop_map(|owner_level| Move::Transfer { owner_level }),
            Just(Move::Extend),
            Just(Move::ApproveExtension),
            Just(Move::RefuseExtension),
            Just(Move::Escalate),
            Just(Move::Whistle),
            Just(Move::WhistleReport),
            (1i64..4).prop_map(|id| Move::Merge(Merge::Into(id))),
            (1i64..4, 1u32..3).prop_map(|(case_id, reporters)| Move::Merge(Merge::From { case_id, reporters })),
            Just(Move::Reopen),
            rating.prop_map(Move::Callback),
            Just(Move::Pause),
            Just(Move::Resume),
            Just(Move::Comment),
            Just(Move::Attach),
            Just(Move::Exclude),
        ]
    }

    proptest! {
        #[test]
        fn random_moves_stay_within_the_spec(moves in proptest::collection::vec(a_move(), 0..60)) {
            let mut c = Case::new(1);
            for mv in &moves {
                let kind = mv.kind();
                match apply(&c, mv) {
                    Ok(next) => {
                        prop_assert!(kind.from_states().contains(&c.state));
                        if next.state != c.state {
                            let merged = matches!(mv, Move::Merge(Merge::Into(_))) && next.state == Void;
                            prop_assert!(
                                merged || SPEC.contains(&(c.state, kind, next.state)),
                                "{} --{}--> {} is not in the spec", c.state, kind, next.state
                            );
                        }
                        // Owned states always have an owner; ownerless ones never do.
                        if next.state.is_owned() {
                            prop_assert!(next.owner_level.is_some());
                        }
                        if matches!(next.state, Received | Accepted) {
                            prop_assert!(next.owner_level.is_none());
                        }
                        prop_assert!(!next.paused || matches!(next.state, Signed | Responded));
                        prop_assert!(next.reporters >= c.reporters);
                        c = next;
                    }
                    Err(MoveError::NotFrom { kind: k, state }) => {
                        prop_assert_eq!((k, state), (kind, c.state));
                        prop_assert!(!kind.from_states().contains(&c.state));
                    }
                    // Guard errors only from a state the move may otherwise be made from.
                    Err(_) => prop_assert!(kind.from_states().contains(&c.state)),
                }
            }
        }

        #[test]
        fn void_is_final(moves in proptest::collection::vec(a_move(), 0..30)) {
            let mut c = apply(&Case::new(1), &Move::Void).unwrap();
            for mv in &moves {
                if let Ok(next) = apply(&c, mv) {
                    prop_assert_eq!(next.state, Void);
                    c = next;
                }
            }
        }
    }
}
