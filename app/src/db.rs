//! Database helpers shared by the services.

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// What a service reads and writes through: the connection, or a caller's transaction (the
/// service's own transaction then nests in it as a savepoint), so that a caller can fold several
/// services, and the activities they record, into one transaction.
pub trait Db: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction> + Sync {}

impl<T: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction> + Sync> Db for T {}

/// Begins a transaction that will write (a savepoint inside a caller's transaction). On SQLite it is IMMEDIATE: it takes the write lock at
/// BEGIN, so concurrent writers wait their turn (busy timeout) instead of failing mid-way with
/// SQLITE_BUSY. PostgreSQL ignores the mode; row locks (`lock_exclusive`) serialise there.
pub async fn begin_write(db: &impl Db) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Rows deleted in one statement by [`delete_in_batches`].
pub const BATCH: u64 = 500;

/// Calls `batch` (which deletes at most [`BATCH`] rows and says how many) until it deletes none,
/// yielding between calls so no statement holds the database long; returns how many in all.
pub async fn delete_in_batches<F, Fut>(mut batch: F) -> Result<u64, DbErr>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, DbErr>>,
{
    let mut deleted = 0;
    loop {
        match batch().await? {
            0 => return Ok(deleted),
            n => deleted += n,
        }
        tokio::task::yield_now().await;
    }
}
