pub mod events;
pub mod hunt;
pub mod kql;
pub mod query;
pub mod rules;
pub mod rules_test;
