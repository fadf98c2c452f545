//! Database helpers shared by the services.

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Begins a transaction that will write. On SQLite it is IMMEDIATE: it takes the write lock at
/// BEGIN, so concurrent writers wait their turn (busy timeout) instead of failing mid-way with
/// SQLITE_BUSY. PostgreSQL ignores the mode; row locks (`lock_exclusive`) serialise there.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}
