//! The migration engine: where migrations come from ([`source`]), the tracking table
//! ([`tracking`]) and how they are applied ([`migrator`]).

pub mod migrator;
pub mod source;
pub mod tracking;

#[cfg(test)]
mod tests;
