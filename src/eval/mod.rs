//! Evaluation harnesses that measure the engine against published figures.

pub mod encodechka;
pub mod formality;
pub mod rewrite_set;
pub mod suggest;
