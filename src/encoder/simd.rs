//! The instruction-set level of the hand-written kernels, decided in one place for the whole
//! process: the int8 matrix products of [`super::gemm`], the f32 row ops of [`super::ops`] and
//! the f32 products of the slovnet tagger all dispatch on [`SimdLevel::active`].
//!
//! By default the best level the CPU runs is detected once. `SUFLER_SIMD=avx512|avx2|scalar`
//! forces a lower (or the same) level, to time or test the code paths another CPU would take;
//! the encoder checks the variable when it loads ([`SimdLevel::configured`]), so a misspelt
//! value or a level the CPU lacks is an error there, never an illegal instruction later.
//!
//! How far a forced level emulates another CPU: forcing AVX2 on an AVX-512 machine runs exactly
//! the instruction path an AVX2-only CPU runs (same kernels, same tile shapes, bit-identical
//! int8 results), so it measures what the wider registers and VNNI are worth on *this* core. It
//! is not a real AVX2 CPU: the caches, the memory bandwidth, the core's clock (AVX-512-capable
//! cores may clock differently under 256- and 512-bit load) and its execution ports stay those
//! of the machine it runs on, and code outside these kernels (`ndarray`'s f32 products, libm,
//! the allocator) keeps choosing its own instructions. Absolute timings on a real AVX2 CPU will
//! differ; ratios between engines run under the same forced level are the meaningful number.

use std::sync::OnceLock;

/// The environment variable that forces a level.
pub const ENV: &str = "SUFLER_SIMD";

/// Instruction-set levels, ordered from the reference to the widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// Portable Rust, the reference every other level is tested against.
    Scalar,
    /// AVX2 with FMA (256-bit vectors; int8 products with `vpmaddubsw`).
    Avx2,
    /// AVX-512 F/BW with FMA, without VNNI: f32 ops in 512-bit vectors, int8 products on the
    /// AVX2 kernel (e.g. Skylake-SP).
    Avx512,
    /// AVX-512 F/BW with FMA and VNNI (`vpdpbusd` for the int8 products).
    Avx512Vnni,
}

/// A `SUFLER_SIMD` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimdError {
    /// Not a level name.
    #[error("SUFLER_SIMD={0:?} is not a SIMD level: use avx512, avx2 or scalar")]
    Unknown(String),
    /// A level this CPU does not have.
    #[error("SUFLER_SIMD={requested}: this CPU lacks {missing} (the best level it runs is {best})")]
    Unsupported {
        /// The level asked for.
        requested: &'static str,
        /// The CPU features it needs.
        missing: &'static str,
        /// The best level of this CPU.
        best: &'static str,
    },
}

impl SimdLevel {
    /// Every level, the reference first.
    pub const ALL: [SimdLevel; 4] = [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512, SimdLevel::Avx512Vnni];

    /// The name used by `SUFLER_SIMD`, reports and `/info`.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
            SimdLevel::Avx512Vnni => "avx512-vnni",
        }
    }

    /// The CPU features the level needs, as a reader would name them.
    fn features(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "nothing",
            SimdLevel::Avx2 => "AVX2 and FMA",
            SimdLevel::Avx512 => "AVX-512 F/BW and FMA",
            SimdLevel::Avx512Vnni => "AVX-512 F/BW/VNNI and FMA",
        }
    }

    /// Whether this CPU runs the level (checked at run time).
    pub fn is_supported(self) -> bool {
        match self {
            SimdLevel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => {
                SimdLevel::Avx2.is_supported()
                    && is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
            }
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512Vnni => SimdLevel::Avx512.is_supported() && is_x86_feature_detected!("avx512vnni"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The best level this CPU runs.
    pub fn detect() -> SimdLevel {
        SimdLevel::ALL.into_iter().rev().find(|l| l.is_supported()).unwrap_or(SimdLevel::Scalar)
    }

    /// Every level this CPU runs, the reference first (for tests and benches).
    pub fn available() -> Vec<SimdLevel> {
        SimdLevel::ALL.into_iter().filter(|l| l.is_supported()).collect()
    }

    /// Parses a `SUFLER_SIMD` value and checks that this CPU runs it. `avx512` means the best
    /// AVX-512 level present (with VNNI where the CPU has it); `avx512-vnni` asks for VNNI.
    pub fn parse(value: &str) -> Result<SimdLevel, SimdError> {
        let wanted = match value.trim().to_ascii_lowercase().as_str() {
            "scalar" => SimdLevel::Scalar,
            "avx2" => SimdLevel::Avx2,
            "avx512" if SimdLevel::Avx512Vnni.is_supported() => SimdLevel::Avx512Vnni,
            "avx512" => SimdLevel::Avx512,
            "avx512-vnni" => SimdLevel::Avx512Vnni,
            _ => return Err(SimdError::Unknown(value.to_string())),
        };
        if !wanted.is_supported() {
            return Err(SimdError::Unsupported {
                requested: wanted.name(),
                missing: wanted.features(),
                best: SimdLevel::detect().name(),
            });
        }
        Ok(wanted)
    }

    /// The level `SUFLER_SIMD` forces, `None` when it is unset or empty.
    pub fn from_env() -> Result<Option<SimdLevel>, SimdError> {
        match std::env::var_os(ENV) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => match v.to_str() {
                Some(s) => SimdLevel::parse(s).map(Some),
                None => Err(SimdError::Unknown(v.to_string_lossy().into_owned())),
            },
        }
    }

    /// The level the kernels use in this process, decided on the first call: the one
    /// `SUFLER_SIMD` forces, else the best detected. An unusable `SUFLER_SIMD` falls back to
    /// the detected level here (kernels cannot fail); [`SimdLevel::configured`] reports it.
    pub fn active() -> SimdLevel {
        static ACTIVE: OnceLock<SimdLevel> = OnceLock::new();
        *ACTIVE.get_or_init(|| SimdLevel::from_env().ok().flatten().unwrap_or_else(SimdLevel::detect))
    }

    /// [`SimdLevel::active`], after checking that `SUFLER_SIMD` is usable: called when the
    /// encoder loads, so that a bad value stops the program with a clear message.
    pub fn configured() -> Result<SimdLevel, SimdError> {
        SimdLevel::from_env()?;
        Ok(SimdLevel::active())
    }
}

impl std::fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for level in SimdLevel::available() {
            let parsed = SimdLevel::parse(level.name()).unwrap();
            // `avx512` asks for the best AVX-512 level, which may be the VNNI one.
            assert!(parsed == level || (level == SimdLevel::Avx512 && parsed == SimdLevel::Avx512Vnni), "{level}");
        }
        assert_eq!(SimdLevel::parse(" AVX2 ").ok(), SimdLevel::Avx2.is_supported().then_some(SimdLevel::Avx2));
        assert_eq!(SimdLevel::parse("scalar"), Ok(SimdLevel::Scalar));
    }

    #[test]
    fn unknown_and_unsupported_levels_are_errors() {
        let err = SimdLevel::parse("sse4").unwrap_err();
        assert_eq!(err, SimdError::Unknown("sse4".into()));
        assert!(err.to_string().contains("avx512, avx2 or scalar"), "{err}");
        for level in SimdLevel::ALL.into_iter().filter(|l| !l.is_supported()) {
            let err = SimdLevel::parse(level.name()).unwrap_err();
            assert!(matches!(err, SimdError::Unsupported { .. }), "{level}: {err}");
            assert!(err.to_string().contains("lacks"), "{err}");
        }
    }

    #[test]
    fn detection_is_consistent() {
        let available = SimdLevel::available();
        assert_eq!(available[0], SimdLevel::Scalar);
        assert_eq!(available.last().copied(), Some(SimdLevel::detect()));
        assert!(SimdLevel::active().is_supported());
        // Every level implies the ones below it.
        for pair in available.windows(2) {
            assert!(pair[0] < pair[1]);
        }
        assert_eq!(available.len(), SimdLevel::detect() as usize + 1);
    }
}
