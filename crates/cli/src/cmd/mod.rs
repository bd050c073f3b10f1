pub mod events;
pub mod hunt;
pub mod query;
pub mod rules;
