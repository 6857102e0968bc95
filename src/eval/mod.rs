//! Evaluation harnesses that measure the engine against published figures.

pub mod check_set;
pub mod encodechka;
pub mod external;
pub mod formality;
pub mod input;
pub mod rewrite_set;
pub mod rude_set;
pub mod suggest;
pub mod tone_set;
pub mod tydip;
