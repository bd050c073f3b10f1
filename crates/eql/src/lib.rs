//! Elasticsearch EQL.
