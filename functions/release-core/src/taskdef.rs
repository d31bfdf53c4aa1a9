//! taskdef
