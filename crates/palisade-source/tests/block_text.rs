//! The block reader builds exactly the tree saphyr builds (values, styles, positions,
//! duplicates) for every document it accepts, and refuses the rest, which saphyr then
//! reads: over hand-written cases, the examples, the fuzz seeds, the corpus and the Pod
//! Security fixtures, and over thousands of mutations of them.

use std::path::Path;

mod common;

use palisade_source::{parse_document_by, split_documents, Engine, Limits};

/// What the block reader made of `part` (`None`: refused), checked against saphyr.
fn agrees(part: &str, chunk: &palisade_source::DocumentChunk, what: &str) -> Option<bool> {
    let limits = Limits::default();
    let block = parse_document_by(Engine::Block, part, chunk, &limits).ok()?;
    let saphyr = parse_document_by(Engine::Saphyr, part, chunk, &limits).unwrap_or_else(|e| {
        panic!("{what}: the block reader accepted what saphyr refuses ({e}): {part:?}")
    });
    Some(block.same_tree(&saphyr))
}

fn check_text(text: &str, what: &str) -> (usize, usize) {
    let (mut read, mut total) = (0, 0);
    for chunk in split_documents(text) {
        let part = &text[chunk.range.clone()];
        total += 1;
        if let Some(same) = agrees(part, &chunk, what) {
            assert!(
                same,
                "{what} document {}: the readers disagree on {part:?}",
                chunk.index
            );
            read += 1;
        }
    }
    (read, total)
}

fn check_dir(dir: &Path) -> (usize, usize) {
    let (mut read, mut total) = (0, 0);
    for (path, text) in common::yaml_files(dir) {
        let (r, t) = check_text(&text, &path.display().to_string());
        read += r;
        total += t;
    }
    (read, total)
}

#[test]
fn hand_written_block_yaml_reads_as_saphyr_reads_it() {
    let cases = [
        "a:\nb: 1\n",
        "a:\n",
        "a:\n  - x\n  -\n  - y\nb:\n- 1\n-\nc: 2\n",
        "- a: 1\n  b:\n- - x\n  - y\n",
        "k: [a, \"b\", {c: d}, {}]\nm: {}\n",
        "k: |\n  x\n\n  y\n\nz: |-\n  q\n",
        "q: 'it''s'\n",
        "a: b # c\n# x\nd: e\n",
        "---\na: 1\n",
        "# lead\n---\n# more\na: 1\n",
        "- \n- x\n",
        "k:   \n  v\n",
        "k: #c\n  v\n",
        "a:   \nb: 1\n",
        "- # c\n- x\n",
        "-  \n",
        "a: \"x y\"  # c\n\"b c\": 'd'\n",
        "a: |+\n  x\n\n\nb: 1\n",
        "- |\n  x\n- y\n",
        "a: |\n  x\n   y\n\n  z\n\n\n",
        "just a scalar\n",
        "a: x   \n",
        "a:\n  b: 1\n",
        "a: |  # c\n  x\n",
        "a: [ ]\nb: [x ,y]\n",
        "a: [\"x\",'y' ]\n",
        "image: nginx:1.25 # pinned\nurl: http://x.test/a#b\nport: 8080\n",
        "a : b\n'k' : v\n",
        "env:\n- name: A\n  value: \"1\"\n- name: B\n  valueFrom:\n    secretKeyRef: {name: s, key: k}\n",
        "a: 1\na: 2\nb: {x: 1, x: 2}\n",
        "é: ü 中\nclé: [é, \"中\"]\n",
        "a:\n  -\n    b: 1\n",
        "metadata:\n  labels:\n    app: web\n  annotations: {}\nspec:\n  containers:\n  - name: c\n    args: [\"--a=1\", -b, c d]\n",
        "a: yes\nb: ~\nc: 0x1F\nd: null\ne: '1'\n",
        "- - - x\n    - y\n  - z\n- w\n",
        "a: |\n  # not a comment\n  x\n",
        "a: |-\n  x\n\n\nb: 1\n",
        "a: b\n  c\n",
        "- cp a b;\n  while true; do\n\n\n    x;   \n  done\n- k: v\n",
        "a: one\n two # c\nb: 1\n",
        "a: \"x\\ty \\\"q\\\" \\u00e9 \\x41 \\U0001F512 \\/ \\\\\"  # c\n\"k\\n\": v\n",
        "verbs: [\"get\",\"list\",]\nx: [a, ]\n",
        "record: :node_memory:sum\n? x\n",
        "record: :node_memory:sum\nq: ?a\n",
    ];
    // Every case is in the subset but the ones saphyr is left to read.
    let left_to_saphyr = ["? x\n", "just a scalar\n"];
    for text in cases {
        let read = check_text(text, "case").0;
        let expected = usize::from(!left_to_saphyr.iter().any(|t| text.ends_with(t)));
        assert_eq!(read, expected, "{text:?}");
    }
}

#[test]
fn what_the_block_reader_leaves_to_saphyr_still_reads() {
    // Refused (and read by saphyr as ever): anchors, tags, folded and multi-line
    // scalars, escapes, tabs, flow collections over lines, complex keys.
    for text in [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: >\n  x\n  y\n",
        "a:\tb\n",
        "a: [1,\n  2]\n",
        "? a\n: b\n",
        "a: |2\n   x\n",
        "a: 1\r\nb: 2\r\n",
    ] {
        let chunk = &split_documents(text)[0];
        let part = &text[chunk.range.clone()];
        assert!(
            parse_document_by(Engine::Block, part, chunk, &Limits::default()).is_err(),
            "{text:?} is not for the block reader"
        );
        palisade_source::parse_document(part, chunk, &Limits::default())
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
    // Invalid YAML is refused here and worded by saphyr: a key past YAML's 1,024
    // characters too, first in its mapping or not, plain or quoted.
    let long = "k".repeat(1100);
    let long_keys = [
        format!("{long}: 1\n"),
        format!("a: 1\n{long}: 2\n"),
        format!("a: 1\n\"{long}\": 2\n"),
    ];
    for text in ["a: b: c\n", "a:\n  b: 1\n c: 2\n", "- a\nb: 1\n", "a: 'x\n"]
        .into_iter()
        .chain(long_keys.iter().map(String::as_str))
    {
        let chunk = &split_documents(text)[0];
        assert!(parse_document_by(Engine::Block, text, chunk, &Limits::default()).is_err());
    }
}

#[test]
fn the_block_reader_agrees_on_the_examples_and_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (r1, t1) = check_dir(&root.join("examples"));
    let (r2, t2) = check_dir(&root.join("fuzz/seeds"));
    assert!(
        r1 + r2 > 40,
        "only {} of {} documents read by the block reader",
        r1 + r2,
        t1 + t2
    );
}

#[test]
fn the_block_reader_agrees_on_the_corpus_and_reads_most_of_it() {
    let Some(shared) = common::shared("", "the block reader's agreement suite on the corpus")
    else {
        return;
    };
    let (read, total) = check_dir(&shared.join("corpus"));
    let (r2, t2) = check_dir(&shared.join("pss-fixtures"));
    eprintln!("block reader: corpus {read} of {total}, fixtures {r2} of {t2}");
    // The speed of a scan rests on this reader taking most documents.
    assert!(
        read * 10 >= total * 8,
        "the block reader took only {read} of {total} corpus documents"
    );
}

/// Mutations of the seeds and corpus-like documents (bytes replaced, removed, inserted,
/// the text cut): whatever the block reader accepts, saphyr reads to the same tree.
#[test]
fn mutated_block_yaml_is_read_as_saphyr_reads_it_or_refused() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut seeds: Vec<String> = std::fs::read_dir(root.join("fuzz/seeds/loader"))
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .collect();
    seeds.push(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web, tier: \"front\"}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: 'nginx:1'\n        args: [\"--x\", y]\n        env:\n        -\n          name: A\n          value: |\n            line\n\n            more\n        - name: B # c\n      - name: C\n          value: \"a\\tb\\u00e9\"\n        args:\n        - cp x y;\n          sleep 1\n\n          done\n      volumes: [a, b,]\n".to_owned(),
    );
    // Real manifests too, when the corpus is beside the project.
    if let Some(corpus) = common::shared("corpus", "the corpus part of the block reader's fuzz") {
        let files = common::yaml_files(&corpus);
        let step = (files.len() / 40).max(1);
        seeds.extend(
            files
                .into_iter()
                .step_by(step)
                .map(|(_, text)| text)
                .filter(|t| t.len() < 20_000),
        );
    }
    // More by hand: PALISADE_FUZZ_ROUNDS=100000 PALISADE_FUZZ_SEED=7 cargo test --release ...
    let rounds: usize = std::env::var("PALISADE_FUZZ_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(600);
    let specials = [
        b' ', b' ', b'\n', b'-', b':', b'#', b'\'', b'"', b'|', b'[', b']', b'{', b'}', b',', b'a',
        b'+', b'&', b'>', 0xC3, 0xA9,
    ];
    let mut state: u64 = std::env::var("PALISADE_FUZZ_SEED")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0x2545_F491_4F6C_DD1D);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut accepted = 0;
    for seed in &seeds {
        for _ in 0..rounds {
            let mut b = seed.as_bytes().to_vec();
            for _ in 0..(next() % 3 + 1) {
                if b.is_empty() {
                    break;
                }
                let at = (next() as usize) % b.len();
                match next() % 5 {
                    0 | 1 => b[at] = specials[(next() as usize) % specials.len()],
                    2 => {
                        b.remove(at);
                    }
                    3 => b.insert(at, specials[(next() as usize) % specials.len()]),
                    _ => b.truncate(at),
                }
            }
            let text = String::from_utf8_lossy(&b).into_owned();
            accepted += check_text(&text, "mutation").0;
        }
    }
    assert!(
        accepted > 1000,
        "only {accepted} mutated documents read by the block reader"
    );
}
