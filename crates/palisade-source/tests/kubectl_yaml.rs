//! YAML that kubectl (go-yaml, a port of libyaml) reads is read here too, with exact
//! positions; and where both parsers read a document, they build the same tree.

use std::path::Path;

mod common;

use palisade_source::{
    parse_document, parse_document_by, split_documents, Document, Engine, Limits, Node, NodeKind,
};

fn parse(text: &str) -> Result<Document, palisade_source::SourceError> {
    let chunk = &split_documents(text)[0];
    parse_document(&text[chunk.range.clone()], chunk, &Limits::default())
}

/// `(line, column)` of the node at a dotted `path` of keys.
fn at(doc: &Document, path: &str) -> (u32, u32) {
    let node = doc
        .root()
        .unwrap()
        .get_path(path)
        .unwrap_or_else(|| panic!("no {path}"));
    (node.pos().line, node.pos().column)
}

fn strings(node: Node<'_>) -> Vec<&str> {
    node.items().filter_map(|n| n.as_str()).collect()
}

#[test]
fn flow_collections_closed_or_continued_at_any_indentation() {
    // `]` at the key's column, the entries at the key's column, `]` left of the key,
    // entries at column 1: go-yaml does not check indentation inside flow collections.
    let cases = [
        "spec:\n  args: [\n    \"--a\",\n    \"--b\"\n  ]\n",
        "spec:\n  args: [\n  \"--a\",\n  \"--b\"\n  ]\n",
        "spec:\n  args: [\n    \"--a\",\n    \"--b\"\n]\n",
        "spec:\n  args: [\n\"--a\",\n\"--b\"\n]\n",
        "spec:\n  args: [\"--a\",\n  \"--b\"]\n",
        "spec:\n  args: [ # why\n      \"--a\", # first\n      \"--b\"\n  ]\n",
        "spec:\n  args: [\r\n    \"--a\",\r\n    \"--b\"\r\n  ]\r\n",
    ];
    for text in cases {
        let doc = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let args = doc.root().unwrap().get_path("spec.args").unwrap();
        assert_eq!(strings(args), ["--a", "--b"], "{text:?}");
        assert_eq!(at(&doc, "spec.args"), (2, 9), "{text:?}");
        let second = args.items().nth(1).unwrap().pos();
        let line = text.lines().position(|l| l.contains("\"--b\"")).unwrap() + 1;
        let column = text.lines().nth(line - 1).unwrap().find("\"--b\"").unwrap() + 1;
        assert_eq!(
            (second.line, second.column),
            (line as u32, column as u32),
            "{text:?}"
        );
    }
}

#[test]
fn flow_mappings_and_nested_flow_spanning_lines() {
    let doc = parse(
        "metadata:\n  labels: {\n    app: web,\n  tier: front\n  }\nspec:\n  env: [\n  {name: A, value: \"1\"},\n  {name: B,\n  value: \"2\"}\n  ]\n",
    )
    .unwrap();
    assert_eq!(
        doc.root()
            .unwrap()
            .get_path("metadata.labels.tier")
            .unwrap()
            .as_str(),
        Some("front")
    );
    assert_eq!(at(&doc, "metadata.labels.tier"), (4, 9));
    let env = doc.root().unwrap().get_path("spec.env").unwrap();
    let value = env.items().nth(1).unwrap().get("value").unwrap();
    assert_eq!(value.as_str(), Some("2"));
    assert_eq!((value.pos().line, value.pos().column), (10, 10));
}

#[test]
fn quoted_scalars_continued_at_the_keys_column_and_tabs_after_a_colon() {
    let doc = parse("data:\n  k: \"multi\n  line\"\n  j:\tv\n  l: 'one\n  two'\n").unwrap();
    let data = doc.root().unwrap().get("data").unwrap();
    assert_eq!(data.get("k").unwrap().as_str(), Some("multi line"));
    assert_eq!(data.get("j").unwrap().as_str(), Some("v"));
    assert_eq!(data.get("l").unwrap().as_str(), Some("one two"));
    assert_eq!(at(&doc, "data.j"), (4, 6));
}

#[test]
fn concatenated_files_keep_loading_past_a_byte_order_mark() {
    // `cat a.yaml b.yaml` where b.yaml starts with a BOM: kubectl reads both.
    let text = "kind: A\n---\n\u{feff}apiVersion: v1\nkind: B\n---\r\n\u{feff}kind: C\r\n";
    let kinds: Vec<(String, (u32, u32))> = split_documents(text)
        .iter()
        .map(|chunk| {
            let doc = parse_document(&text[chunk.range.clone()], chunk, &Limits::default())
                .unwrap_or_else(|e| panic!("document {}: {e}", chunk.index));
            let kind = doc.root().unwrap().get("kind").unwrap();
            (
                kind.as_str().unwrap().to_owned(),
                (kind.pos().line, kind.pos().column),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("A".to_owned(), (1, 7)),
            ("B".to_owned(), (4, 7)),
            ("C".to_owned(), (6, 7))
        ]
    );
}

#[test]
fn yaml_1_1_typing_holds_for_documents_read_by_libyaml() {
    // The same scalar rules whichever parser read the document.
    let doc = parse("a: [\n  yes, \"yes\", !!str on, 0x10, ~\n]\n").unwrap();
    let items: Vec<Node<'_>> = doc.root().unwrap().get("a").unwrap().items().collect();
    assert_eq!(items[0].as_bool(), Some(true));
    assert_eq!(items[1].as_bool(), None);
    assert_eq!(items[2].as_bool(), None);
    assert_eq!(items[3].as_i64(), Some(16));
    assert!(items[4].is_null());
    // Anchors and aliases too.
    let doc = parse("base: &b [\n  1, 2\n]\ncopy: *b\n").unwrap();
    let copy = doc.root().unwrap().get("copy").unwrap();
    assert_eq!(copy.kind(), NodeKind::Sequence);
    assert_eq!(copy.items().count(), 2);
}

#[test]
fn what_kubectl_refuses_is_still_an_error_with_a_position() {
    // A tab indenting a block mapping, an unclosed flow sequence, a bad document start.
    for (text, line) in [
        ("data:\n\tk: v\n", 2),
        ("spec:\n  args: [\n    a,\n", 4),
        ("a: b: c\n", 1),
    ] {
        let e = parse(text)
            .err()
            .unwrap_or_else(|| panic!("{text:?} parsed"));
        assert_eq!(e.line, line, "{text:?}: {e}");
    }
    // Limits are enforced whichever parser reads the document.
    let deep = format!("a: {}\n{}", "[".repeat(300), "]".repeat(300));
    let e = parse(&deep).unwrap_err();
    assert!(e.message.contains("nesting deeper"), "{e}");
    let deep_multiline = format!("a: [\n{}\n{}\n]\n", "[".repeat(300), "]".repeat(300));
    let e = parse(&deep_multiline).unwrap_err();
    assert!(e.message.contains("nesting deeper"), "{e}");
}

/// Every document of every YAML file under `dir` that the fast parser reads must be read
/// identically by libyaml: same nodes, values, styles and positions.
fn both_parsers_agree_under(dir: &Path) -> usize {
    let mut compared = 0;
    for (path, text) in common::yaml_files(dir) {
        for chunk in split_documents(&text) {
            let part = &text[chunk.range.clone()];
            let limits = Limits::default();
            let Ok(fast) = parse_document_by(Engine::Saphyr, part, &chunk, &limits) else {
                continue;
            };
            let slow = parse_document_by(Engine::Libyaml, part, &chunk, &limits)
                .unwrap_or_else(|e| panic!("{} document {}: {e}", path.display(), chunk.index));
            assert!(
                fast.same_tree(&slow),
                "{} document {}: the parsers disagree",
                path.display(),
                chunk.index
            );
            compared += 1;
        }
    }
    compared
}

#[test]
fn both_parsers_build_the_same_tree_for_the_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let n = both_parsers_agree_under(&root.join("examples"))
        + both_parsers_agree_under(&root.join("fuzz/seeds"));
    assert!(n > 50, "only {n} documents compared");
}

#[test]
fn both_parsers_build_the_same_tree_for_the_corpus() {
    let Some(corpus) = common::shared("corpus", "the parser agreement suite on the corpus") else {
        return;
    };
    let n = both_parsers_agree_under(&corpus);
    assert!(n > 1000, "only {n} documents compared");
}

#[test]
fn inputs_that_trouble_the_fallback_parser_are_errors_or_read_right() {
    // libyaml-safer 0.3 panics on a tag before `,` in a flow collection: when saphyr
    // refuses such a document, it is an error, never a crash.
    for text in [
        "a: [\n  !!str, x\n]\n",
        "a: [\n  !!str, x\n\t]\n",
        "a: [\n!!str,\n]\n",
    ] {
        let chunk = &split_documents(text)[0];
        let by_libyaml = std::panic::catch_unwind(|| {
            parse_document_by(Engine::Libyaml, text, chunk, &Limits::default()).map(|_| ())
        });
        assert!(by_libyaml.is_ok(), "libyaml's panic is caught: {text:?}");
        let _ = parse(text);
    }
    // A redefined anchor names its latest node, also when libyaml reads the document.
    let doc = parse("a: &x 1\nb: &x 2\nc: &y 3\nd: *x\ne: [\n  1\n]\n").unwrap();
    assert_eq!(doc.root().unwrap().get("d").unwrap().as_i64(), Some(2));
    // Empty values of a long flow mapping cost no more than their count.
    let keys: Vec<String> = (0..50_000).map(|i| format!("k{i}")).collect();
    let text = format!("a: [\n1\n]\nb: {{{}}}\n", keys.join(", "));
    let doc = parse(&text).unwrap();
    let b = doc.root().unwrap().get("b").unwrap();
    assert_eq!(b.len(), 50_000);
    let (k, v) = b.entries().nth(1).unwrap();
    assert_eq!((k.pos().line, k.pos().column), (4, 9));
    assert!(v.is_null());
}
