//! `cargo xtask build`: the browser bundle, without cargo-leptos.
//!
//! 1. compiles `frontend` for wasm32 with the `wasm-release` profile,
//! 2. runs wasm-bindgen (as a library, pinned to the exact version in Cargo.lock),
//! 3. shrinks the module with `wasm-opt -Oz` (binaryen from npm, see `tools/`),
//! 4. copies `style/main.css`, and prints the bundle size raw and gzipped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const OUT_NAME: &str = "flowdeck";

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "build" => build(),
        _ => bail!("usage: cargo xtask build"),
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn build() -> anyhow::Result<()> {
    let root = root();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let pkg = target_dir.join("site").join("pkg");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "-p", "frontend", "--target", "wasm32-unknown-unknown", "--profile", "wasm-release"])
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("building the frontend failed");
    }
    let input = target_dir.join("wasm32-unknown-unknown/wasm-release/frontend.wasm");
    std::fs::create_dir_all(&pkg)?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&input)
        .web(true)?
        .out_name(OUT_NAME)
        .typescript(false)
        .generate(&pkg)
        .context("wasm-bindgen")?;
    let wasm = pkg.join(format!("{OUT_NAME}_bg.wasm"));
    optimise(&root, &wasm)?;
    std::fs::copy(root.join("style/main.css"), pkg.join(format!("{OUT_NAME}.css")))
        .context("copying style/main.css")?;
    report(&wasm)
}

/// `wasm-opt -Oz` from PATH or `tools/node_modules/.bin`; required, since release builds ship it.
fn optimise(root: &Path, wasm: &Path) -> anyhow::Result<()> {
    let local = root.join("tools/node_modules/.bin/wasm-opt");
    let program = if local.exists() { local.into_os_string() } else { "wasm-opt".into() };
    let status = Command::new(&program)
        .arg("-Oz")
        .arg(wasm)
        .arg("-o")
        .arg(wasm)
        .status()
        .with_context(|| "running wasm-opt (install it with `npm ci --prefix tools`)".to_string())?;
    if !status.success() {
        bail!("wasm-opt failed");
    }
    Ok(())
}

fn report(wasm: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(wasm)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bytes)?;
    let gzipped = gz.finish()?.len();
    println!("wasm bundle: {} KiB raw, {} KiB gzip ({})", bytes.len() / 1024, gzipped / 1024, wasm.display());
    Ok(())
}
