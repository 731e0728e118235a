//! Inviting: every new invitation, from the form, a CSV file or the API, is planned and
//! written here, in batches.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::actor::Actor;
use crate::db::{self, Reader};
use crate::domain::Role;
use crate::domain::settings::OrgSettings;
use crate::state::AppState;

use super::create::{Created, PlanToWrite, create_all};
use super::csv::{StoredRow, csv_requests};
use super::plan::{OrgStanding, Plan, Request, normalized, plan_against};
use super::{Error, MAX_TYPED, may_invite};

/// What inviting came to: the plan, which says what happened to each address, and the
/// invitations created.
#[derive(Clone, Debug)]
pub struct Invited {
    pub plan: Plan,
    pub created: Vec<Created>,
}

/// Plans `requests` and creates their invitations in one transaction: all of them when
/// every address can be invited (otherwise none, and `Error::Refused` with the plan),
/// or with `partial` those that can.
///
/// Invitations asked for while another batch is being written wait for it, then go
/// together in one transaction (`Queue`): each plan as if they had been made one after
/// another, in the order they were asked for.
pub async fn invite(
    state: &AppState,
    actor: &Actor,
    requests: Vec<Request>,
    partial: bool,
) -> Result<Invited, Error> {
    if requests.is_empty() || requests.len() > MAX_TYPED {
        // Whether the actor may invite at all is the first thing they are told.
        let settings = db::orgs::settings(&state.db, actor.org.id).await?;
        if !may_invite(actor, &settings) {
            return Err(Error::Forbidden);
        }
        return Err(Error::AddressCount);
    }
    queue(state, actor, requests, partial, Taken::None).await
}

/// Invites the addresses of the pending access request `id`, approved by `actor`, as
/// `actor`'s invitations crediting the requester: those that can be invited are (the
/// plan says what happened to the others). `Error::NotFound` when the request is no
/// longer pending (another approval or a decline came first).
pub async fn invite_requested(state: &AppState, actor: &Actor, id: i64) -> Result<Invited, Error> {
    queue(state, actor, Vec::new(), true, Taken::AccessRequest(id)).await
}

/// What a queued request takes inside the batch's transaction, so that it is used once,
/// and only if its invitations are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    None,
    /// A previewed CSV upload, whose rows are the requests.
    CsvImport(i64),
    /// A pending access request, approved by the actor: its addresses are the requests,
    /// and its requester is credited on the invitations.
    AccessRequest(i64),
}

/// Queues one request's invitations (or a CSV upload's, `csv_import`) and waits for
/// their answer.
pub(super) async fn queue(
    state: &AppState,
    actor: &Actor,
    requests: Vec<Request>,
    partial: bool,
    taken: Taken,
) -> Result<Invited, Error> {
    let (reply, answer) = oneshot::channel();
    let queued = QueuedInvitations {
        actor: actor.clone(),
        requests,
        partial,
        taken,
        requested_by: None,
        reply,
    };
    if state.extension::<Queue>().push(queued) {
        tokio::spawn(write_waiting(state.clone()));
    }
    answer
        .await
        .map_err(|_| anyhow::anyhow!("the invitations could not be written"))?
}

/// Invitations waiting to be written, and whether a task is writing them.
#[derive(Default)]
pub struct Queue(Mutex<Waiting>);

#[derive(Default)]
struct Waiting {
    queued: VecDeque<QueuedInvitations>,
    writing: bool,
}

/// How many addresses one batch plans at most (besides its first request's).
const BATCH_ADDRESSES: usize = 1_000;

/// The invitations asked for by one request, waiting in the queue.
struct QueuedInvitations {
    actor: Actor,
    requests: Vec<Request>,
    partial: bool,
    /// A CSV upload or an access request whose addresses are the requests.
    taken: Taken,
    /// Who asked for these invitations (an approved access request's requester).
    requested_by: Option<i64>,
    reply: oneshot::Sender<Answer>,
}

impl QueuedInvitations {
    /// The addresses it counts for in a batch; a CSV upload's are not known before it is
    /// taken, and it goes alone.
    fn addresses(&self) -> usize {
        match self.taken {
            Taken::CsvImport(_) => BATCH_ADDRESSES,
            // Its addresses are few (`access_requests::MAX_ADDRESSES`).
            Taken::AccessRequest(_) | Taken::None => self.requests.len().max(1),
        }
    }
}

type Answer = Result<Invited, Error>;

impl Queue {
    fn waiting(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a request; true when no task is writing, and the caller must start one.
    fn push(&self, queued: QueuedInvitations) -> bool {
        let mut waiting = self.waiting();
        waiting.queued.push_back(queued);
        !std::mem::replace(&mut waiting.writing, true)
    }

    /// The next batch, in the order asked for; None (and no task writing) when none wait.
    fn next_batch(&self) -> Option<Vec<QueuedInvitations>> {
        let mut waiting = self.waiting();
        let mut batch: Vec<QueuedInvitations> = Vec::new();
        let mut addresses = 0;
        while let Some(next) = waiting.queued.front() {
            if !batch.is_empty() && addresses + next.addresses() > BATCH_ADDRESSES {
                break;
            }
            addresses += next.addresses();
            batch.extend(waiting.queued.pop_front());
        }
        if batch.is_empty() {
            waiting.writing = false;
            return None;
        }
        Some(batch)
    }
}

/// Lets another task write if the writing one panicked.
struct ReleaseOnPanic<'a>(&'a Queue);

impl Drop for ReleaseOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.waiting().writing = false;
        }
    }
}

/// Writes batches of waiting invitations until none wait.
async fn write_waiting(state: AppState) {
    let queue = state.extension::<Queue>();
    let _release = ReleaseOnPanic(&queue);
    while let Some(mut batch) = queue.next_batch() {
        match write_batch(&state, &mut batch).await {
            Ok(answers) => {
                for (queued, answer) in batch.into_iter().zip(answers) {
                    let _ = queued.reply.send(answer);
                }
            }
            Err(err) => {
                tracing::error!(error = %format!("{err:#}"), "invitations could not be written");
                for queued in batch {
                    let _ = queued
                        .reply
                        .send(Err(Error::Internal(anyhow::anyhow!("{err:#}"))));
                }
            }
        }
    }
}

/// Plans every request of `batch` and creates their invitations in one transaction. The
/// organizations are locked in the order of their ids, so that batches in several
/// processes cannot deadlock.
async fn write_batch(
    state: &AppState,
    batch: &mut [QueuedInvitations],
) -> anyhow::Result<Vec<Answer>> {
    let now = state.clock.now();
    let org_ids: Vec<i64> = batch.iter().map(|q| q.actor.org.id).collect();
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_key(|&i| org_ids[i]);
    let mut tx = state.db.begin().await?;
    let mut refused: Vec<Option<Error>> = batch.iter().map(|_| None).collect();
    let mut plans: Vec<Option<Plan>> = batch.iter().map(|_| None).collect();
    let mut settings: HashMap<i64, OrgSettings> = HashMap::new();
    for group in order.chunk_by(|&a, &b| org_ids[a] == org_ids[b]) {
        let org_id = org_ids[group[0]];
        let org_settings = db::orgs::settings_for_update(&mut tx, org_id).await?;
        for &i in group {
            let queued = &mut batch[i];
            if !may_invite(&queued.actor, &org_settings) {
                refused[i] = Some(Error::Forbidden);
                continue;
            }
            let Some(user_id) = queued.actor.user_id() else {
                refused[i] = Some(Error::Forbidden);
                continue;
            };
            match queued.taken {
                Taken::None => {}
                Taken::CsvImport(import_id) => {
                    match db::csv_imports::take(&mut tx, import_id, org_id, user_id).await? {
                        Some(rows_json) => {
                            let rows: Vec<StoredRow> = serde_json::from_str(&rows_json)?;
                            queued.requests = csv_requests(&rows, Role::Member, now);
                        }
                        None => refused[i] = Some(Error::NotFound),
                    }
                }
                Taken::AccessRequest(id) => {
                    match crate::access_requests::approve_in(state, &mut tx, &queued.actor, id, now)
                        .await?
                    {
                        Some((requests, requested_by)) => {
                            queued.requests = requests;
                            queued.requested_by = requested_by;
                        }
                        None => refused[i] = Some(Error::NotFound),
                    }
                }
            }
        }
        let planning: Vec<usize> = group
            .iter()
            .copied()
            .filter(|&i| refused[i].is_none())
            .collect();
        let emails: Vec<String> = planning
            .iter()
            .flat_map(|&i| normalized(&batch[i].requests))
            .collect();
        let mut standing = OrgStanding::read(Reader::Tx(&mut tx), org_id, &emails, now).await?;
        for &i in &planning {
            let queued = &batch[i];
            let plan = plan_against(
                &standing,
                &org_settings,
                queued.actor.role,
                &queued.requests,
                now,
            );
            if queued.partial || plan.all_invite() {
                standing.record(&plan, now + org_settings.invitation_lifetime_secs);
            }
            plans[i] = Some(plan);
        }
        settings.insert(org_id, org_settings);
    }
    // All or nothing, unless partial: a request with a refused address writes nothing.
    let writes: Vec<bool> = batch
        .iter()
        .zip(&plans)
        .map(|(queued, plan)| {
            plan.as_ref()
                .is_some_and(|plan| queued.partial || plan.all_invite())
        })
        .collect();
    let to_write: Vec<PlanToWrite> = (0..batch.len())
        .filter(|&i| writes[i])
        .filter_map(|i| {
            Some(PlanToWrite {
                actor: &batch[i].actor,
                inviter: batch[i].actor.user()?,
                settings: &settings[&org_ids[i]],
                plan: plans[i].as_ref()?,
                requested_by: batch[i].requested_by,
            })
        })
        .collect();
    let created = create_all(state, &mut tx, &to_write, now).await?;
    drop(to_write);
    let mut created = created.into_iter();
    tx.commit().await?;
    state.mailer.wake();
    let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
    for ((refusal, plan), writes) in refused.into_iter().zip(plans).zip(writes) {
        answers.push(match (refusal, plan) {
            (Some(refusal), _) => Err(refusal),
            (None, Some(plan)) if writes => Ok(Invited {
                plan,
                created: created.next().unwrap_or_default(),
            }),
            (None, Some(plan)) => Err(Error::Refused(plan)),
            (None, None) => {
                Err(anyhow::anyhow!("a request was neither planned nor refused").into())
            }
        });
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{audit, orgs::Org, users::User};
    use crate::domain::AccountStatus;

    fn queued(addresses: usize) -> (QueuedInvitations, oneshot::Receiver<Answer>) {
        let (reply, answer) = oneshot::channel();
        let request = Request::new("someone@example.com", Role::Member);
        let actor = Actor::member(
            Org {
                id: 1,
                name: "Org".into(),
                slug: "org".into(),
            },
            User {
                id: 1,
                email: "ada@example.com".into(),
                name: "Ada".into(),
                password_hash: String::new(),
                is_instance_admin: false,
                status: AccountStatus::Active,
                sessions_valid_after: 0,
                two_factor_enabled_at: None,
            },
            Role::Owner,
            audit::Actor::default(),
        );
        let queued = QueuedInvitations {
            actor,
            requests: vec![request; addresses],
            partial: false,
            taken: Taken::None,
            requested_by: None,
            reply,
        };
        (queued, answer)
    }

    #[test]
    fn the_first_request_starts_a_writer_and_batches_stop_at_the_address_cap() {
        let queue = Queue::default();
        let sizes = [1, 600, 400, 1, BATCH_ADDRESSES + 5, 2];
        let mut answers = Vec::new();
        let mut starts = Vec::new();
        for size in sizes {
            let (queued, answer) = queued(size);
            answers.push(answer);
            starts.push(queue.push(queued));
        }
        assert_eq!(starts, [true, false, false, false, false, false]);

        let batch = |queue: &Queue| -> Option<Vec<usize>> {
            queue
                .next_batch()
                .map(|batch| batch.iter().map(|q| q.requests.len()).collect())
        };
        // In the order asked for; a batch takes more only while they fit.
        assert_eq!(batch(&queue), Some(vec![1, 600]));
        assert_eq!(batch(&queue), Some(vec![400, 1]));
        // A request larger than the cap goes alone.
        assert_eq!(batch(&queue), Some(vec![BATCH_ADDRESSES + 5]));
        assert_eq!(batch(&queue), Some(vec![2]));
        assert_eq!(batch(&queue), None);
        // Nothing waits and no task writes: the next request starts one again.
        let (queued, _answer) = queued(1);
        assert!(queue.push(queued));
    }

    #[test]
    fn a_csv_upload_goes_in_a_batch_of_its_own() {
        let queue = Queue::default();
        let (first, _a) = queued(1);
        let (mut csv, _b) = queued(0);
        csv.taken = Taken::CsvImport(7);
        let (last, _c) = queued(1);
        for q in [first, csv, last] {
            queue.push(q);
        }

        let imports = |queue: &Queue| {
            queue
                .next_batch()
                .map(|batch| batch.iter().map(|q| q.taken).collect::<Vec<_>>())
        };

        assert_eq!(imports(&queue), Some(vec![Taken::None]));
        assert_eq!(imports(&queue), Some(vec![Taken::CsvImport(7)]));
        assert_eq!(imports(&queue), Some(vec![Taken::None]));
    }
}
