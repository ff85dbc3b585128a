//! JSON text is read by the JSON reader into exactly the tree the YAML parser builds
//! from the same text (values, styles, positions); what is not strict JSON is read as
//! YAML as before.

use std::path::Path;

use palisade_source::{
    parse_document, parse_document_by, split_documents, Document, Engine, Limits, Node, NodeKind,
};
use serde_json::Value;

fn chunk_of(text: &str) -> palisade_source::DocumentChunk {
    split_documents(text)
        .into_iter()
        .next()
        .expect("one document")
}

/// Both readers build the same tree from `text`, which must be strict JSON.
fn same_as_yaml(text: &str) {
    let chunk = chunk_of(text);
    let part = &text[chunk.range.clone()];
    let limits = Limits::default();
    let json = parse_document_by(Engine::Json, part, &chunk, &limits)
        .unwrap_or_else(|e| panic!("not read as JSON: {e}: {text:.200}"));
    let yaml = parse_document_by(Engine::Saphyr, part, &chunk, &limits)
        .unwrap_or_else(|e| panic!("not read as YAML: {e}: {text:.200}"));
    assert!(json.same_tree(&yaml), "the readers disagree on {text:.300}");
}

#[test]
fn hand_written_json_reads_as_the_yaml_parser_reads_it() {
    for text in [
        r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {}}, "spec": {"containers": []}}"#,
        "{\n  \"a\": [1, -0, 1.5e3, 2E-2, 0.25, true, false, null],\n  \"b\": {\"c\": [[], {}, [[\"x\"]]]}\n}\n",
        r#"{"esc": "line\nbreak \"quoted\" back\\slash \/ tab\t \u00e9 \u20ac \u0041", "plain": "é 中文 ✓", "k\u00e9y": "v"}"#,
        "{\"after\": \"é 中文\", \"next\": {\"deep\": [\"中\", 1]}}",
        "[{\"a\": 1}, {\"a\": 2}]",
        "{\r\n  \"crlf\": \"yes\",\r\n  \"n\": 3\r\n}\r\n",
        "  \n\t{\"leading\": \"white space\"}  \n\n",
        r#"{"true": "true", "1": 1, "null": null, "dup": 1, "dup": 2}"#,
        "{\"items\": [\n{\"kind\": \"A\"},\n{\"kind\": \"B\", \"x\": \"y\"}\n]}\n",
    ] {
        same_as_yaml(text);
    }
}

#[test]
fn what_is_not_strict_json_is_read_as_yaml() {
    for (text, check) in [
        ("{a: b}", "b"),
        ("{\"a\": \"b\",}", "b"),
        ("{\"a\": 'b'}", "b"),
        ("{\"a\": \"b\"} # comment", "b"),
    ] {
        let chunk = chunk_of(text);
        assert!(
            parse_document_by(
                Engine::Json,
                &text[chunk.range.clone()],
                &chunk,
                &Limits::default()
            )
            .is_err(),
            "{text} is not strict JSON"
        );
        let doc = parse_document(&text[chunk.range.clone()], &chunk, &Limits::default())
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(doc.root().unwrap().get("a").unwrap().as_str(), Some(check));
    }
    // Broken JSON is a YAML error, with the YAML parser's words and position.
    let text = "{\"a\": [1, 2}\n";
    let chunk = chunk_of(text);
    let e = parse_document(&text[chunk.range.clone()], &chunk, &Limits::default()).unwrap_err();
    assert_eq!(e.line, 1, "{e}");
    // Limits hold on the JSON path.
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    let chunk = chunk_of(&deep);
    let e = parse_document(&deep, &chunk, &Limits::default()).unwrap_err();
    assert!(e.message.contains("nesting deeper"), "{e}");
}

/// The JSON value of a document: plain scalars that are JSON literals as themselves,
/// everything else as strings.
fn to_json(node: Node<'_>) -> Value {
    match node.kind() {
        NodeKind::Scalar => {
            let (text, plain) = node.scalar_source().unwrap_or_default();
            if plain {
                if let Ok(v) = serde_json::from_str::<Value>(text) {
                    if !v.is_string() && !v.is_object() && !v.is_array() {
                        return v;
                    }
                }
            }
            Value::String(text.to_owned())
        }
        NodeKind::Sequence => Value::Array(node.items().map(to_json).collect()),
        NodeKind::Mapping => Value::Object(
            node.entries()
                .map(|(k, v)| {
                    let key = k.scalar_source().unwrap_or_default().0;
                    (key.to_owned(), to_json(v))
                })
                .collect(),
        ),
    }
}

#[test]
fn every_corpus_and_example_object_as_json_reads_as_the_yaml_parser_reads_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut compared = 0;
    for dir in [root.join("examples"), root.join("../shared/corpus")] {
        for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
            let ext = entry.path().extension().and_then(|e| e.to_str());
            if !matches!(ext, Some("yaml" | "yml" | "json")) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            for chunk in split_documents(&text) {
                let Ok(doc): Result<Document, _> =
                    parse_document(&text[chunk.range.clone()], &chunk, &Limits::default())
                else {
                    continue;
                };
                let Some(root) = doc.root() else { continue };
                let value = to_json(root);
                same_as_yaml(&serde_json::to_string(&value).unwrap());
                same_as_yaml(&serde_json::to_string_pretty(&value).unwrap());
                compared += 1;
            }
        }
    }
    assert!(compared > 50, "only {compared} documents compared");
}

#[test]
fn list_items_are_found_by_structure_with_their_positions() {
    use palisade_source::{list_items, parse_list_item};
    // Compact, on one line; strings holding brackets, quotes and escapes; `kind` after
    // `items`; a non-ASCII character before an item (columns count characters).
    let text =
        r#"{"items":[{"a":"]}\"[{"},{"b":[1,{"c":"\\"}]},7,"é"],"kind":"PodList","x":{"y":"é"}}"#;
    let items = list_items(text).expect("a List");
    let texts: Vec<&str> = items.iter().map(|i| &text[i.range.clone()]).collect();
    assert_eq!(
        texts,
        [
            r#"{"a":"]}\"[{"}"#,
            r#"{"b":[1,{"c":"\\"}]}"#,
            "7",
            r#""é""#
        ]
    );
    assert_eq!(
        items.iter().map(|i| (i.line, i.column)).collect::<Vec<_>>(),
        [(1, 10), (1, 25), (1, 46), (1, 48)]
    );
    // Each item read alone has the positions the whole document gives it.
    let chunk = split_documents(text).remove(0);
    let whole = parse_document(text, &chunk, &Limits::default()).unwrap();
    let whole_items: Vec<Node<'_>> = whole
        .root()
        .unwrap()
        .get("items")
        .unwrap()
        .items()
        .collect();
    for (i, item) in items.iter().enumerate() {
        let alone = parse_list_item(text, item, &chunk, &Limits::default()).unwrap();
        let a = alone.root().unwrap();
        assert_eq!(a.pos(), whole_items[i].pos(), "item {i}");
        assert_eq!(a.kind(), whole_items[i].kind(), "item {i}");
    }
    let b = parse_list_item(text, &items[1], &chunk, &Limits::default()).unwrap();
    let c = c_of(b.root().unwrap()).unwrap();
    assert_eq!(
        (c.as_str(), c.pos()),
        (Some("\\"), c_of(whole_items[1]).unwrap().pos())
    );
    // Pretty-printed, with lines.
    let pretty = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [\n    {\"kind\": \"A\"},\n    {\n      \"kind\": \"B\"\n    }\n  ]\n}\n";
    let items = list_items(pretty).unwrap();
    assert_eq!(
        items.iter().map(|i| (i.line, i.column)).collect::<Vec<_>>(),
        [(5, 4), (6, 4)]
    );
    // Not a List, or not one JSON object: nothing.
    for not in [
        r#"{"kind":"Pod","items":[1]}"#,
        r#"{"kind":"List"}"#,
        r#"{"kind":"List","items":[1]} trailing"#,
        r#"{"kind":"List","items":[1,]}"#,
        "[1, 2]",
        "kind: List\nitems: [1]\n",
    ] {
        assert!(list_items(not).is_none(), "{not}");
    }
    assert_eq!(
        list_items(r#"{"kind":"List","items":[]}"#).map(|i| i.len()),
        Some(0)
    );
}

#[test]
fn json_details_kubectl_reads_the_same_way() {
    let read = |text: &str| {
        let chunk = chunk_of(text);
        parse_document(&text[chunk.range.clone()], &chunk, &Limits::default())
    };
    let by_json = |text: &str| {
        let chunk = chunk_of(text);
        parse_document_by(
            Engine::Json,
            &text[chunk.range.clone()],
            &chunk,
            &Limits::default(),
        )
    };
    // A surrogate pair is one character (Python's json writes emoji so).
    let doc = read(r#"{"a": "smile \ud83d\ude00!"}"#).unwrap();
    assert_eq!(
        doc.root().unwrap().get("a").unwrap().as_str(),
        Some("smile \u{1F600}!")
    );
    // Not JSON: a sign in a \u escape, a lone surrogate, a lone carriage return.
    for text in [r#"{"a": "\u+041"}"#, r#"{"a": "\ud83d"}"#, "{\"a\":\r1}"] {
        assert!(by_json(text).is_err(), "{text:?}");
    }
    // A lone carriage return breaks the line, as the YAML reader reads it.
    let doc = read("{\"a\":\r1}").unwrap();
    assert_eq!(doc.root().unwrap().get("a").unwrap().pos().line, 2);
}

#[test]
fn lists_the_whole_reader_would_object_to_are_not_split() {
    use palisade_source::list_items;
    for text in [
        r#"{"kind":"List","kind":"List","items":[1]}"#,
        r#"{"kind":"List","items":[1],"items":[2]}"#,
        r#"{"kind":"List","metadata":{"x":[}},"items":[1]}"#,
        r#"{"apiVersion":1,"kind":"List","items":[1]}"#,
        "{\"kind\":\"List\",\"items\":[1,\r2]}",
    ] {
        assert!(list_items(text).is_none(), "{text}");
    }
    // An item read alone is held to the depth it has in the List.
    let deep = format!(
        "{{\"kind\":\"List\",\"items\":[{}{}]}}",
        "[".repeat(199),
        "]".repeat(199)
    );
    let items = list_items(&deep).unwrap();
    let chunk = chunk_of(&deep);
    assert!(
        palisade_source::parse_list_item(&deep, &items[0], &chunk, &Limits::default()).is_err()
    );
    assert!(parse_document(&deep, &chunk, &Limits::default()).is_err());
}

/// Mutated JSON and YAML (bytes flipped, cut, inserted) never panic any reader and never
/// give a position outside the text: a small deterministic fuzz of the JSON reader, the
/// List splitting and the libyaml fallback (whose own panics are caught).
#[test]
fn mutated_json_never_panics_the_readers() {
    use palisade_source::{list_items, parse_list_item};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/loader");
    let yaml: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .collect();
    let seeds = yaml.iter().map(String::as_str).chain([
        "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}},\n{\"kind\":\"A\",\"v\":[1,2.5e3,-0,true,null,\"\\u00e9\\ud83d\\ude00\"]}\n]}\n",
        "{\"a\": {\"b\": [\"x\", {\"c\": \"d\\n\\t\\\"\"}]}, \"é\": \"中\"}",
    ]);
    let bytes_of = |s: &str| s.as_bytes().to_vec();
    let specials = [
        b'{', b'}', b'[', b']', b'"', b'\\', b',', b':', b'\r', b'\n', b'\t', 0xC3, 0xA9, b'u',
        b'0',
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let limits = Limits::default();
    for seed in seeds {
        for _ in 0..1000 {
            let mut b = bytes_of(seed);
            for _ in 0..(next() % 4 + 1) {
                if b.is_empty() {
                    break;
                }
                let at = (next() as usize) % b.len();
                match next() % 4 {
                    0 => b[at] = specials[(next() as usize) % specials.len()],
                    1 if !b.is_empty() => {
                        b.remove(at.min(b.len() - 1));
                    }
                    1 => {}
                    2 => b.insert(at, specials[(next() as usize) % specials.len()]),
                    _ => b.truncate(at),
                }
            }
            let text = String::from_utf8_lossy(&b).into_owned();
            let lines = u32::try_from(text.bytes().filter(|c| matches!(c, b'\n' | b'\r')).count())
                .unwrap()
                + 1;
            for chunk in split_documents(&text) {
                let part = &text[chunk.range.clone()];
                if let Ok(doc) = parse_document(part, &chunk, &limits) {
                    // (An empty document's null root may sit past the last line.)
                    if let Some(root) = doc.root().filter(|r| !r.is_null()) {
                        assert!(root.pos().line <= lines, "{text:?}");
                    }
                }
                let _ = parse_document_by(Engine::Json, part, &chunk, &limits);
                if let Some(items) = list_items(part) {
                    for item in &items {
                        if let Ok(doc) = parse_list_item(part, item, &chunk, &limits) {
                            if let Some(root) = doc.root() {
                                assert!(root.pos().line <= lines, "{text:?}");
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `.b[1].c` of a List item (the test of item-by-item reading).
fn c_of(item: Node<'_>) -> Option<Node<'_>> {
    item.get("b")?.items().nth(1)?.get("c")
}
