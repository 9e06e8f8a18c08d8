//! The operator's page: other nodes, this node's policy on each (limit or suspend, with a
//! reason, signed with the node's key), and the last sync session with each.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maillon_protocol::kinds::{NodePolicy, PolicyLevel};
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm};
use super::{render_form, require_user, V};
use crate::backend::{Backend, LinkKind, OperatorView, Reachability, Submitted};
use crate::error::AppError;
use crate::page::{self, Page};
use crate::session::{Lang, Visitor};
use crate::Shared;

/// One other node, as shown.
#[derive(Clone, Debug)]
pub struct PeerLine {
    name: String,
    node: String,
    connected: bool,
    link: String,
    policy: String,
    policy_reason: String,
    sync: String,
}

#[derive(Template)]
#[template(path = "operator.html")]
struct OperatorPage {
    p: Page,
    node_name: String,
    records: u64,
    members: u64,
    reachability: String,
    disk: String,
    disk_warning: bool,
    software: String,
    figures: Vec<String>,
    /// (SVG, the same figures in words).
    charts: Vec<(String, String)>,
    peers: Vec<PeerLine>,
    error: Option<String>,
    invite_addresses: String,
    invite_error: Option<String>,
}

/// The free space, and what to do when it runs low.
fn disk_label(disk: &crate::backend::DiskView, l: Lang) -> String {
    let free = disk.free_mib.map_or_else(
        || l.pick("inconnu", "unknown").to_string(),
        |mib| format!("{mib} Mo"),
    );
    let floor = disk.floor_mib;
    if disk.full {
        l.pick_string(
            format!("Disque plein : {free} libres, sous le plancher de {floor} Mo. Le nœud refuse les nouveaux enregistrements (les membres voient « Site momentanément plein ») ; libérez de la place, il reprendra seul."),
            format!("Disk full: {free} free, under the {floor} MB floor. The node refuses new records (members see \"Site temporarily full\"); free some space and it resumes by itself."),
        )
    } else if disk.low {
        l.pick_string(
            format!("Disque presque plein : {free} libres. Sous {floor} Mo, le nœud refusera les nouveaux enregistrements : libérez de la place."),
            format!("Disk nearly full: {free} free. Under {floor} MB the node will refuse new records: free some space."),
        )
    } else {
        l.pick_string(
            format!("Espace disque libre : {free}."),
            format!("Free disk space: {free}."),
        )
    }
}

/// The charts of records and of connected peers over the last days.
fn charts(
    view: &OperatorView,
    now: maillon_protocol::ids::Timestamp,
    l: Lang,
) -> Vec<(String, String)> {
    use crate::figures::{chart, Series};
    let records = Series {
        id: "graphe-enregistrements",
        title: l.pick("Enregistrements", "Records"),
        points: view.history.iter().map(|p| (p.at, p.records)).collect(),
    };
    let peers = Series {
        id: "graphe-pairs",
        title: l.pick("Pairs connectés", "Connected peers"),
        points: view.history.iter().map(|p| (p.at, p.peers)).collect(),
    };
    vec![chart(&records, now, l), chart(&peers, now, l)]
}

fn link_label(link: Option<LinkKind>, l: Lang) -> &'static str {
    match link {
        None => "",
        Some(LinkKind::Direct) => l.pick("connexion directe", "direct connection"),
        Some(LinkKind::Relayed) => l.pick("par un relais", "through a relay"),
        Some(LinkKind::HolePunched) => {
            l.pick("directe, à travers les box", "direct, through both routers")
        }
    }
}

fn reachability_label(view: &OperatorView, l: Lang) -> String {
    match view.reachability {
        Reachability::Unknown => l
            .pick(
                "Joignabilité depuis l'extérieur : vérification en cours.",
                "Reachability from outside: being checked.",
            )
            .into(),
        Reachability::Public => l
            .pick(
                "Ce nœud est joignable directement depuis l'extérieur.",
                "This node can be reached directly from outside.",
            )
            .into(),
        Reachability::Private => l.pick_string(
            format!(
                "Ce nœud est derrière une box : les autres le joignent par {} relais.",
                view.relays
            ),
            format!(
                "This node is behind a router: others reach it through {}.",
                crate::page::counted(
                    view.relays as u64,
                    ("relais", "relais"),
                    ("relay", "relays"),
                    l
                )
            ),
        ),
    }
}

fn level_label(level: PolicyLevel, l: Lang) -> &'static str {
    match level {
        PolicyLevel::Normal => l.pick("normale", "normal"),
        PolicyLevel::Limit => l.pick("limitée", "limited"),
        PolicyLevel::Suspend => l.pick("suspendue", "suspended"),
    }
}

/// The view, if the visitor operates this node.
pub(crate) async fn require_operator<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
) -> Result<OperatorView, AppError> {
    let user = require_user(visitor)?;
    let l = visitor.lang;
    let view = state.backend.operator_view().await?;
    let identity = state.backend.member(&user.key).identity;
    if view.operator.is_none_or(|o| o != user.key && o != identity) {
        return Err(AppError::Forbidden(
            l,
            l.pick(
                "Cette page est réservée à la personne qui exploite ce nœud.",
                "This page is for the person who runs this node.",
            ),
        ));
    }
    Ok(view)
}

async fn operator_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    error: Option<String>,
) -> Result<Response, AppError> {
    operator_page_with(state, visitor, error, None).await
}

/// The page; `invite` is the invitation form as typed and what was wrong with it.
pub(crate) async fn operator_page_with<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    error: Option<String>,
    invite: Option<(String, String)>,
) -> Result<Response, AppError> {
    let view = require_operator(state, visitor).await?;
    let l = visitor.lang;
    let peers = view
        .peers
        .iter()
        .map(|peer| PeerLine {
            name: peer
                .name
                .clone()
                .unwrap_or_else(|| l.pick("nœud inconnu", "unknown node").into()),
            node: peer.node.map(|k| k.to_hex()).unwrap_or_default(),
            connected: peer.connected,
            link: link_label(peer.link, l).into(),
            policy: level_label(
                peer.policy
                    .as_ref()
                    .map_or(PolicyLevel::Normal, |p| p.level),
                l,
            )
            .into(),
            policy_reason: peer
                .policy
                .as_ref()
                .map(|p| p.reason.clone())
                .unwrap_or_default(),
            sync: match &peer.last_sync {
                None => l.pick("jamais", "never").into(),
                Some(s) => match &s.error {
                    None => l.pick_string(
                        format!(
                            "{} : {} reçus, {} envoyés",
                            page::date_time(s.at, l),
                            s.fetched,
                            s.pushed
                        ),
                        format!(
                            "{}: {} received, {} sent",
                            page::date_time(s.at, l),
                            s.fetched,
                            s.pushed
                        ),
                    ),
                    Some(e) => l.pick_string(
                        format!("{} : échec ({e})", page::date_time(s.at, l)),
                        format!("{}: failed ({e})", page::date_time(s.at, l)),
                    ),
                },
            },
        })
        .collect();
    let failed = error.is_some() || invite.is_some();
    let (invite_addresses, invite_error) = match invite {
        Some((typed, why)) => (typed, Some(why)),
        None => (view.addresses.join("\n"), None),
    };
    render_form(
        OperatorPage {
            p: state.page(visitor),
            node_name: state.backend.site().node_name,
            records: view.records,
            members: view.members,
            reachability: reachability_label(&view, l),
            disk: disk_label(&view.disk, l),
            disk_warning: view.disk.low || view.disk.full,
            software: view.software.clone(),
            figures: crate::figures::figure_lines(&view.figures, l),
            charts: charts(&view, state.backend.now(), l),
            peers,
            error,
            invite_addresses,
            invite_error,
        },
        failed,
    )
}

/// `GET /operateur`.
pub async fn operator<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
) -> Result<Response, AppError> {
    operator_page(&state, &visitor, None).await
}

/// The policy form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PolicyFields {
    csrf: String,
    node: String,
    level: String,
    reason: String,
}
with_csrf!(PolicyFields);

/// `POST /operateur/politique`: limits, suspends or restores another node.
pub async fn set_policy<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    CheckedForm(f): CheckedForm<PolicyFields>,
) -> Result<Response, AppError> {
    let view = require_operator(&state, &visitor).await?;
    let l = visitor.lang;
    let target = page::parse_key(&f.node)
        .filter(|key| view.peers.iter().any(|p| p.node == Some(*key)))
        .ok_or(AppError::BadRequest(
            l,
            l.pick("Nœud inconnu.", "Unknown node."),
        ))?;
    let level = match f.level.as_str() {
        "normale" => PolicyLevel::Normal,
        "limitee" => PolicyLevel::Limit,
        "suspendue" => PolicyLevel::Suspend,
        _ => {
            let message = l.pick("Choisissez une politique.", "Choose a policy.");
            return operator_page(&state, &visitor, Some(message.into())).await;
        }
    };
    let reason = f.reason.trim().to_string();
    if reason.is_empty() || reason.len() > 1000 {
        let message = l.pick(
            "Donnez la raison (1 000 caractères au plus) : elle est publiée avec la politique.",
            "Give the reason (1,000 characters at most): it is published with the policy.",
        );
        return operator_page(&state, &visitor, Some(message.into())).await;
    }
    match state
        .backend
        .set_policy(NodePolicy {
            target,
            level,
            reason,
        })
        .await?
    {
        Submitted::Rejected { message, .. } => operator_page(&state, &visitor, Some(message)).await,
        _ => Ok(Redirect::to("/operateur").into_response()),
    }
}
