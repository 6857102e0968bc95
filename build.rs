//! Embeds the Russian morphology dictionary (the data files of the `rsmorphy-dict-ru` crate)
//! in the binary, so it never depends at run time on the cargo registry of the build machine
//! (`src/text/morph.rs` writes the embedded copy out when no dictionary directory is given).

fn main() {
    let dir = std::path::Path::new(rsmorphy_dict_ru::DICT_PATH);
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rustc-env=SUFLER_MORPH_EMBED_DIR={}", dir.display());
}
