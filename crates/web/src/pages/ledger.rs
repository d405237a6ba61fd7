//! The points ledger (积分) for staff: the journal entries of the caller's area with filters,
//! a holder's balance, an entry's page with its postings and the steps the caller may take
//! (approve or reject a pending award, reverse a posted one), and a manual award under a rule.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use wangge_core::ledger::{AccountKind, EntryKind, SourceKind};
use wangge_core::{Caller, Permission};
use wangge_store::{
    EntryFilter, Holder, LedgerEntry, NewAward, Page, PointsAccount, PointsRule, RuleState, Scope, StoreError,
};

use super::Pager;
use super::wishes::community_head;
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Viewer, WebError, render, respond};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/ledger", get(list))
        .route("/ledger/award", post(award))
        .route("/ledger/{id}", get(entry))
        .route("/ledger/{id}/{step}", post(step))
}

const STATES: [&str; 4] = ["pending", "posted", "rejected", "reversed"];
const HOLDERS: [&str; 4] = ["household", "resident", "volunteer", "team"];

fn holder(kind: &str, id: Option<i64>) -> Option<Holder> {
    Holder::parse(AccountKind::parse(kind)?, id?)
}

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default, deserialize_with = "super::empty_as_none")]
    page: Option<u32>,
    #[serde(default, deserialize_with = "super::empty_as_none")]
    account_id: Option<i64>,
    #[serde(default)]
    holder_kind: String,
    #[serde(default, deserialize_with = "super::empty_as_none")]
    holder_id: Option<i64>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    period: String,
}

#[derive(Deserialize, Default)]
pub struct AwardForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    rule_id: String,
    #[serde(default)]
    holder_kind: String,
    #[serde(default)]
    holder_id: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    key: String,
}

#[derive(Template)]
#[template(path = "services/ledger.html")]
struct ListPage {
    c: Chrome,
    entries: Vec<LedgerEntry>,
    q: ListQuery,
    account: Option<PointsAccount>,
    states: Vec<&'static str>,
    sources: Vec<&'static str>,
    holders: Vec<&'static str>,
    pager: Pager,
    may_award: bool,
    rules: Vec<PointsRule>,
    form: AwardForm,
    /// A fresh key per form, so that a double tap awards once.
    key: String,
    errors: FieldErrors,
}

impl ListPage {
    fn kind_name(&self, k: &EntryKind) -> String {
        self.c.t(&format!("entry-kind-{}", k.as_str()))
    }

    fn holder_id(&self) -> String {
        self.q.holder_id.map(|i| i.to_string()).unwrap_or_default()
    }

    fn account_id(&self) -> String {
        self.q.account_id.map(|i| i.to_string()).unwrap_or_default()
    }
}

async fn list_page(
    s: &WebState,
    v: &Viewer,
    q: ListQuery,
    form: AwardForm,
    mut errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, WebError> {
    let scope = v.reader()?;
    let page = Page::new(q.page, Some(super::PAGE_SIZE))?;
    // A holder's account is named by the holder; its balance is shown above its entries.
    let account = match (holder(&q.holder_kind, q.holder_id), q.account_id) {
        (Some(h), _) => Some(s.store.holder_points(scope, h).await?),
        (None, Some(id)) => Some(s.store.points_account(scope, id).await?),
        (None, None) => None,
    };
    let period = Some(q.period.trim().to_string()).filter(|p| !p.is_empty());
    let mut f = EntryFilter {
        account_id: account.as_ref().map(|a| a.id),
        state: STATES.iter().find(|k| **k == q.state).map(|k| k.to_string()),
        source_kind: SourceKind::parse(&q.source),
        period,
        ..Default::default()
    };
    let list = match s.store.list_ledger_entries(scope, &f, page).await {
        Ok(l) => l,
        Err(StoreError::Invalid { field: "period", .. }) => {
            errors.add("period", v.t("ledger-period-bad"));
            f.period = None;
            s.store.list_ledger_entries(scope, &f, page).await?
        }
        Err(e) => return Err(e.into()),
    };
    let query = [
        ("account_id", q.account_id.map(|i| i.to_string()).unwrap_or_default()),
        ("holder_kind", q.holder_kind.clone()),
        ("holder_id", q.holder_id.map(|i| i.to_string()).unwrap_or_default()),
        ("state", q.state.clone()),
        ("source", q.source.clone()),
        ("period", q.period.clone()),
    ];
    let pager = Pager::new("/ledger", &query, page.page, page.page_size, list.total);
    let may_award = v.can(Permission::WriteRegistry);
    let rules = if may_award {
        let all = s.store.list_points_rules(scope, Page::new(Some(1), Some(100))?).await?.items;
        all.into_iter().filter(|r| r.state == RuleState::Approved).collect()
    } else {
        vec![]
    };
    let form = if form.holder_kind.is_empty() && form.holder_id.is_empty() {
        AwardForm {
            holder_kind: q.holder_kind.clone(),
            holder_id: q.holder_id.map(|i| i.to_string()).unwrap_or_default(),
            ..form
        }
    } else {
        form
    };
    let p = ListPage {
        c: v.chrome(v.t("ledger-title"), "ledger"),
        entries: list.items,
        q,
        account,
        states: STATES.to_vec(),
        sources: SourceKind::ALL.iter().map(|k| k.as_str()).collect(),
        holders: HOLDERS.to_vec(),
        pager,
        may_award,
        rules,
        form,
        key: wangge_store::accounts::random_token().chars().take(24).collect(),
        errors,
    };
    Ok(render(status, p, v.lang))
}

async fn list(State(s): State<WebState>, v: Viewer, Query(q): Query<ListQuery>) -> Response {
    let r = list_page(&s, &v, q, AwardForm::default(), FieldErrors::default(), StatusCode::OK).await;
    respond(&v, r)
}

async fn award(State(s): State<WebState>, v: Viewer, Form(f): Form<AwardForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        v.reader()?;
        if !v.can(Permission::WriteRegistry) {
            return Err(WebError::Forbidden);
        }
        let mut errors = FieldErrors::default();
        let rule_id = f.rule_id.trim().parse::<i64>();
        if rule_id.is_err() {
            errors.add("rule_id", v.t("ledger-rule-needed"));
        }
        let who = holder(&f.holder_kind, f.holder_id.trim().parse().ok());
        if who.is_none() {
            errors.add("holder_id", v.t("ledger-holder-needed"));
        }
        let quantity = match f.quantity.trim() {
            "" => Ok(1),
            t => t.parse::<i64>(),
        };
        if quantity.is_err() {
            errors.add("quantity", v.t("ledger-quantity-bad"));
        }
        let (Ok(rule_id), Some(who), Ok(quantity)) = (rule_id, who, quantity) else {
            return list_page(&s, &v, ListQuery::default(), f, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        };
        let new = NewAward {
            rule_id,
            holder: who,
            quantity,
            source_kind: Some(SourceKind::Manual),
            source_id: None,
            client_key: f.key.clone(),
            note: Some(f.note.trim().to_string()).filter(|n| !n.is_empty()),
        };
        match s.store.award_points(&v.caller, new).await {
            Ok(e) => Ok(Redirect::to(&format!("/ledger/{}", e.id)).into_response()),
            Err(StoreError::MissingRef { field: "holder_id", .. }) if holder_exists(&s, who).await => {
                Err(WebError::Forbidden)
            }
            Err(e) => {
                let status = if matches!(e, StoreError::Conflict { .. }) {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                let errors = FieldErrors::from_store(v.lang, &e).ok_or(WebError::from(e))?;
                list_page(&s, &v, ListQuery::default(), f, errors, status).await
            }
        }
    }
    .await;
    respond(&v, r)
}

/// Whether a holder exists anywhere: one outside the viewer's area is "not allowed".
async fn holder_exists(s: &WebState, h: Holder) -> bool {
    let all = Scope::everything();
    match h {
        Holder::Resident(id) => s.store.resident(&all, id).await.is_ok(),
        Holder::Household(id) => s.store.household(&all, id).await.is_ok(),
        Holder::Volunteer(id) => s.store.volunteer(&all, id).await.is_ok(),
        Holder::Team(id) => s.store.team(&all, id).await.is_ok(),
    }
}

#[derive(Template)]
#[template(path = "services/entry.html")]
struct EntryPage {
    c: Chrome,
    e: LedgerEntry,
    /// Each posting's account, in the order of the postings.
    accounts: Vec<PointsAccount>,
    rule: Option<PointsRule>,
    reversed_by: Option<i64>,
    steps: Vec<&'static str>,
    refusal: Option<String>,
}

impl EntryPage {
    fn has(&self, step: &str) -> bool {
        self.steps.contains(&step)
    }

    fn kind_name(&self) -> String {
        self.c.t(&format!("entry-kind-{}", self.e.kind.as_str()))
    }

    fn account_name(&self, a: &PointsAccount) -> String {
        format!("{} #{}", self.c.t(&format!("points-account-{}", a.kind.as_str())), a.owner_id)
    }
}

/// Another area's entry is "not allowed", not "not found", when it exists.
async fn entry_scoped(s: &WebState, v: &Viewer, id: i64) -> Result<LedgerEntry, WebError> {
    match s.store.ledger_entry(v.reader()?, id).await {
        Ok(e) => Ok(e),
        Err(StoreError::NotFound { .. }) if s.store.ledger_entry(&Scope::everything(), id).await.is_ok() => {
            Err(WebError::Forbidden)
        }
        Err(e) => Err(e.into()),
    }
}

/// The entry that reversed this one, if any.
async fn reversal_of(s: &WebState, e: &LedgerEntry) -> Result<Option<i64>, WebError> {
    let f = EntryFilter { account_id: Some(e.account_id), kind: Some(EntryKind::Reversal), ..Default::default() };
    let list = s.store.list_ledger_entries(&Scope::everything(), &f, Page::new(Some(1), Some(100))?).await?;
    Ok(list.items.iter().find(|r| r.reverses_id == Some(e.id)).map(|r| r.id))
}

async fn entry_page(
    s: &WebState,
    v: &Viewer,
    id: i64,
    refusal: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let e = entry_scoped(s, v, id).await?;
    let mut accounts = Vec::new();
    for p in &e.postings {
        accounts.push(s.store.points_account(&Scope::everything(), p.account_id).await?);
    }
    let rule = match e.rule_id {
        Some(r) => s.store.points_rule(&Scope::everything(), r).await.ok(),
        None => None,
    };
    let reversed_by = reversal_of(s, &e).await?;
    // The store's own rules, so that only a step it would allow gets a button.
    let caller: &Caller = &v.caller;
    let approver = rule.as_ref().is_some_and(|r| caller.kind == Some(r.approver_kind)) || community_head(caller);
    let asked = caller.post_id.is_some() && caller.post_id == e.requested_by_post_id;
    let mut steps = Vec::new();
    if e.state == "pending" && approver && !asked {
        steps.extend(["approve", "reject"]);
    }
    if e.state == "posted" && e.kind.reversible() && reversed_by.is_none() && community_head(caller) {
        steps.push("reverse");
    }
    let c = v.chrome(format!("{} #{id}", v.t("entry-title")), "ledger");
    Ok(render(status, EntryPage { c, e, accounts, rule, reversed_by, steps, refusal }, v.lang))
}

async fn entry(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = entry_page(&s, &v, id, None, StatusCode::OK).await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
    /// Rejecting and reversing are confirmed first.
    #[serde(default)]
    confirm: String,
}

async fn step(
    State(s): State<WebState>,
    v: Viewer,
    Path((id, step)): Path<(i64, String)>,
    Form(f): Form<StepForm>,
) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        if !["approve", "reject", "reverse"].contains(&step.as_str()) {
            return Err(WebError::NotFound);
        }
        entry_scoped(&s, &v, id).await?;
        let note = Some(f.note.trim().to_string()).filter(|n| !n.is_empty());
        if step != "approve" && f.confirm != "yes" {
            let why = Some(v.t("entry-unconfirmed"));
            return entry_page(&s, &v, id, why, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        if step == "reverse" && note.is_none() {
            let why = Some(v.t("entry-reason-needed"));
            return entry_page(&s, &v, id, why, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        let done = match step.as_str() {
            "approve" => s.store.decide_entry(&v.caller, id, true).await,
            "reject" => s.store.decide_entry(&v.caller, id, false).await,
            // One key per entry: a second tap answers with the first reversal.
            _ => s.store.reverse_entry(&v.caller, id, &format!("reverse-{id}"), note).await,
        };
        match done {
            Ok(_) => Ok(Redirect::to(&format!("/ledger/{id}")).into_response()),
            Err(StoreError::Conflict { code, .. }) => {
                let key = if code == "insufficient_points" { "insufficient_points" } else { "entry-bad-step" };
                entry_page(&s, &v, id, Some(v.t(key)), StatusCode::CONFLICT).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&v, r)
}
