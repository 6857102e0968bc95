//! Evaluation harnesses that measure the engine against published figures.

pub mod encodechka;
