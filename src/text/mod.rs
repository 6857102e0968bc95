//! Linguistic analysis of Russian text by small on-device models.

pub mod slovnet;
