use sea_orm::entity::prelude::*;

/// One run of a workflow.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_executions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub workflow_id: Uuid,
    /// PENDING, RUNNING, WAITING (parked), COMPLETED, FAILED or CANCELLED.
    pub status: crate::statuses::ExecutionStatus,
    /// A dry run: side-effecting steps record what they would do.
    pub simulation: bool,
    /// The trigger node the run starts at.
    pub trigger_node: Uuid,
    /// What the trigger received.
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    /// The `Graph` being run, as it was when the run started.
    #[sea_orm(column_type = "JsonBinary")]
    pub graph: Json,
    pub started_by: Option<Uuid>,
    pub error: Option<String>,
    /// The instance running it, until `lease_until`; an expired lease means that instance died.
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    /// The failed or cancelled run this one continues (retry from the failed step).
    pub retry_of: Option<Uuid>,
    /// The kind of the node that started it (`manual`, `schedule`, `webhook`, `event`).
    pub trigger_kind: Option<String>,
    /// When a parked (WAITING) run is due again; `None` while it waits for a decision.
    pub wake_at: Option<DateTimeUtc>,
    /// The run at the start of the chain of workflow events that started this one.
    pub root_id: Option<Uuid>,
    /// On a root run: how many runs its chain has started (bounded by the chain budget).
    pub descendants: i32,
    /// From start to end, set when the run ends (reports aggregate it).
    pub duration_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
