//! The template library and suggestions as acceptance checks call them: `sufler templates
//! import|list|export`, `sufler suggest --json` (one message or `--batch`), `sufler feedback
//! import` and `sufler eval suggest`, with the real model and a real SQLite file.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::Value;

struct Library {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Library {
    fn empty() -> Library {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("library.db");
        Library { _dir: dir, db }
    }

    fn db(&self) -> &str {
        self.db.to_str().unwrap()
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.db.parent().unwrap().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--db", self.db()]);
        sufler(&all, b"")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?} should fail: {}", String::from_utf8_lossy(&out.stdout));
        stderr(&out)
    }

    fn ids(&self) -> Vec<String> {
        self.ok(&["templates", "list"]).lines().map(|l| l.split('\t').next().unwrap().to_string()).collect()
    }

    fn suggest(&self, args: &[&str]) -> Value {
        let mut all = vec!["suggest", "--json"];
        all.extend_from_slice(args);
        serde_json::from_str(self.ok(&all).trim()).expect("one JSON object")
    }
}

/// `sufler eval suggest ARGS --json FILE`: the report (the plain one is printed for the log).
fn eval_suggest(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let mut all = vec!["eval", "suggest"];
    all.extend_from_slice(args);
    all.extend(["--json", report.to_str().unwrap()]);
    let out = sufler(&all, b"");
    assert!(out.status.success(), "{}", stderr(&out));
    println!("{}", String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap()
}

/// A metric of an evaluation report by id.
fn metric(report: &Value, id: &str) -> f64 {
    let metrics = report["metrics"].as_array().unwrap();
    metrics.iter().find(|m| m["id"] == id).unwrap_or_else(|| panic!("no {id}"))["value"].as_f64().unwrap()
}

fn top_ids(answer: &Value) -> Vec<String> {
    answer["suggestions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

const SMALL_PACK: &str = r#"{"id":"hours","title":"Часы работы","text":"Мы работаем ежедневно с 9:00 до 21:00 по московскому времени."}
{"id":"handover","title":"Передача коллеге","text":"{name:dat} ответит мой коллега {operator}, он уже изучает Ваш вопрос.","status":"approved"}
{"id":"track","title":"Трек-номер посылки","text":"Трек-номер заказа № {order}: {track}. Отслеживать посылку можно на сайте службы доставки.","tags":["трек","посылка"]}
"#;

#[test]
fn a_long_import_reports_its_progress_in_plain_lines_when_stderr_is_not_a_terminal() {
    let lib = Library::empty();
    let pack: String = (0..1200)
        .map(|k| format!("{{\"id\":\"t{k}\",\"title\":\"Шаблон {k}\",\"text\":\"Ответ номер {k}.\"}}\n"))
        .collect();
    let file = lib.file("big.jsonl", &pack);
    let out = lib.run(&["templates", "import", &file, "--no-embed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> =
        stderr(&out).lines().filter(|l| l.contains("импорт шаблонов")).map(str::to_string).collect();
    assert_eq!(lines.len(), 10, "one line per tenth: {lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("sufler: импорт шаблонов: 1200 из 1200"));
    // A short import says nothing but its summary.
    let small = lib.file("small.jsonl", SMALL_PACK);
    let out = lib.run(&["templates", "import", &small, "--no-embed"]);
    assert!(!stderr(&out).contains("импорт шаблонов"), "{}", stderr(&out));
}

#[test]
fn a_fresh_library_suggests_the_default_pack_with_filled_placeholders() {
    let lib = Library::empty();
    let answer = lib.suggest(&["--k", "3", "--client-name", "Анна", "где мой заказ 4821-1934??? уже неделю жду"]);
    assert_eq!(answer["abstain"], false);
    let suggestions = answer["suggestions"].as_array().unwrap();
    assert_eq!(suggestions.len(), 3);
    let ids = top_ids(&answer);
    assert!(ids[..2].iter().any(|id| id == "order-status" || id == "order-delayed"), "{ids:?}");
    for s in suggestions {
        for key in ["id", "title", "text", "score", "missing"] {
            assert!(!s[key].is_null(), "{key} missing in {s}");
        }
        let text = s["text"].as_str().unwrap();
        assert!(!text.contains('{') && !text.contains('}'), "raw braces in {text}");
    }
    let status = suggestions.iter().find(|s| s["id"] == "order-status").expect("order-status among the top 3");
    let text = status["text"].as_str().unwrap();
    assert!(text.starts_with("Анна, Ваш заказ № 4821-1934"), "{text}");
    assert_eq!(status["missing"], serde_json::json!(["date"]));
    let scores: Vec<f64> = suggestions.iter().map(|s| s["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(lib.ids().len() >= 80, "the default pack was imported");
}

#[test]
fn import_list_export_and_declined_names() {
    let lib = Library::empty();
    let pack = lib.file("pack.jsonl", SMALL_PACK);
    lib.ok(&["templates", "import", &pack, "--status", "approved"]);
    assert_eq!(lib.ids(), ["handover", "hours", "track"]);

    let answer =
        lib.suggest(&["--k", "1", "--client-name", "Анна Сергеевна", "можно поговорить с другим специалистом?"]);
    assert_eq!(top_ids(&answer), ["handover"]);
    let text = answer["suggestions"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("Анне Сергеевне ответит мой коллега"), "{text}");
    assert_eq!(answer["suggestions"][0]["missing"], serde_json::json!(["operator"]));

    let exported = lib.ok(&["templates", "export"]);
    let again = Library::empty();
    let file = again.file("exported.jsonl", &exported);
    again.ok(&["templates", "import", &file, "--no-embed"]);
    assert_eq!(again.ok(&["templates", "export"]), exported);

    // A changed text is a new version; the old one stays in the history.
    let changed = lib.file("v2.jsonl", &SMALL_PACK.replace("с 9:00 до 21:00", "с 8:00 до 22:00"));
    lib.ok(&["templates", "import", &changed, "--no-embed"]);
    assert!(lib.ok(&["templates", "list"]).contains("hours\tapproved\tv2\tЧасы работы"));
    let history = lib.ok(&["templates", "history", "hours"]);
    assert_eq!(history.lines().count(), 2, "{history}");
}

#[test]
fn only_approved_templates_are_suggested() {
    let lib = Library::empty();
    let pack = lib.file("pack.jsonl", SMALL_PACK);
    lib.ok(&["templates", "import", &pack, "--status", "draft", "--no-embed"]);
    let err = lib.fails(&["suggest", "--json", "во сколько вы открываетесь"]);
    assert!(err.contains("no approved templates"), "{err}");
    lib.ok(&["templates", "set-status", "hours", "approved"]);
    // A message that shares words with the template: a paraphrase that shares none («во сколько
    // вы открываетесь») scores just under the abstention threshold against a bare one-line
    // template, and this test is about the status, not the threshold.
    let answer = lib.suggest(&["--k", "3", "во сколько вы открываетесь, какие часы работы?"]);
    assert_eq!(top_ids(&answer), ["hours"], "drafts never appear");
}

#[test]
fn a_bad_pack_imports_nothing_and_names_every_line() {
    let lib = Library::empty();
    let good = lib.file("good.jsonl", SMALL_PACK);
    lib.ok(&["templates", "import", &good, "--no-embed"]);
    let bad = lib.file(
        "bad.jsonl",
        &[
            r#"{"id":"new-one","title":"Новый","text":"Новый текст."}"#,
            r#"{"id":"hours","title":"Часы","text":"Другой текст"#,
            r#"{"id":"x","title":"X","text":"Здравствуйте, {Имя}!"}"#,
            r#"{"id":"new-one","title":"Дубль","text":"Ещё текст."}"#,
        ]
        .join("\n"),
    );
    let err = lib.fails(&["templates", "import", &bad]);
    assert!(err.contains("nothing imported") && err.contains("line 2"), "{err}");
    let fixed = lib.file(
        "fixed.jsonl",
        &[
            r#"{"id":"new-one","title":"Новый","text":"Новый текст."}"#,
            r#"{"id":"hours","title":"Часы","text":"Другой текст."}"#,
            r#"{"id":"x","title":"X","text":"Здравствуйте, {Имя}!"}"#,
            r#"{"id":"new-one","title":"Дубль","text":"Ещё текст."}"#,
        ]
        .join("\n"),
    );
    let err = lib.fails(&["templates", "import", &fixed]);
    assert!(err.contains("line 3") && err.contains("{Имя}"), "{err}");
    assert!(err.contains("line 4") && err.contains("duplicate id"), "{err}");
    assert_eq!(lib.ids(), ["handover", "hours", "track"], "the library is as it was");
    assert!(lib.ok(&["templates", "list"]).contains("hours\tapproved\tv1"));
}

#[test]
fn batch_answers_one_line_per_request_and_refuses_bad_lines() {
    let lib = Library::empty();
    let batch = lib.file(
        "batch.jsonl",
        concat!(
            r#"{"text": "хочу вернуть деньги за куртку, не подошла"}"#,
            "\n",
            r#"{"text": "заказ 4821-1934, там куртка", "client_name": "Олег", "dialogue": [{"role": "client", "text": "где мой заказ?"}, {"role": "operator", "text": "Подскажите, пожалуйста, номер заказа."}]}"#,
            "\n"
        ),
    );
    let out = lib.ok(&["suggest", "--json", "--k", "2", "--batch", &batch]);
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert_eq!(line["suggestions"].as_array().unwrap().len(), 2);
        assert_eq!(line["abstain"], false);
    }
    let second = &lines[1]["suggestions"][0];
    assert!(second["id"].as_str().unwrap().starts_with("order"), "the dialogue gives the topic: {second}");
    assert!(second["text"].as_str().unwrap().contains("4821-1934"));

    let bad = lib.file("bad.jsonl", "{\"text\": \"где заказ\"}\n\n{\"txt\": \"опечатка\"}\n{\"text\": \"   \"}\n");
    let err = lib.fails(&["suggest", "--json", "--batch", &bad]);
    for line in ["line 2", "line 3", "line 4"] {
        assert!(err.contains(line), "{line} in {err}");
    }
}

#[test]
fn nothing_fitting_is_an_abstention_not_noise() {
    let lib = Library::empty();
    let answer = lib.suggest(&["--k", "3", "кто выиграл вчерашний матч"]);
    assert_eq!(answer["abstain"], true, "{answer}");
    assert_eq!(answer["suggestions"], serde_json::json!([]));
    // Chit-chat and other services' questions, written for this test (in no evaluation set):
    // the scope prior tells them from requests that score as low against the templates.
    for message in [
        "посоветуйте сериал на вечер, что-нибудь лёгкое",
        "доброй ночи всем 🌙",
        "какой прогноз погоды на выходные в Казани?",
        "а вы человек или робот?",
        "как приготовить борщ",
    ] {
        let answer = lib.suggest(&["--k", "3", message]);
        assert_eq!(answer["abstention"]["reason"], "nothing_fits", "{message}: {answer}");
    }
    // Short requests are not abstained on.
    for (message, id) in [
        ("во сколько вы открываетесь?", "working-hours"),
        ("заказ 4821-1934", "order-status"),
        ("а можно оплатить при получении?", "payment-methods"),
    ] {
        let answer = lib.suggest(&["--k", "3", message]);
        assert_eq!(top_ids(&answer).first().map(String::as_str), Some(id), "{message}: {answer}");
    }
}

#[test]
fn a_message_in_another_language_gets_a_template_in_it_or_the_reason_there_is_none() {
    let lib = Library::empty();
    let english = "Hi! Where is my order? I paid for it a week ago and nobody answers.";
    let answer = lib.suggest(&["--k", "3", english]);
    assert_eq!(answer["abstain"], true, "{answer}");
    assert_eq!(answer["abstention"]["reason"], "language", "{answer}");
    assert_eq!(answer["abstention"]["language"], "eng", "{answer}");
    assert!(answer["abstention"]["message"].as_str().unwrap().contains("не на русском"), "{answer}");
    // A Russian message still gets Russian templates, and its answer carries no abstention.
    let russian = lib.suggest(&["--k", "1", "где мой заказ? оплатила неделю назад"]);
    assert_eq!(russian["abstain"], false, "{russian}");
    assert!(russian.get("abstention").is_none(), "{russian}");

    let pack = lib.file(
        "english.jsonl",
        concat!(
            r#"{"id": "en-order-status", "title": "Order status", "text": "Your order has been shipped and is on its way. You will receive a text message with the delivery time the day before."}"#,
            "\n",
            r#"{"id": "en-refund", "title": "Refund", "text": "We have issued a refund; the money will be back on your card within ten working days."}"#,
            "\n"
        ),
    );
    lib.ok(&["templates", "import", &pack, "--status", "approved"]);
    let answer = lib.suggest(&["--k", "3", english]);
    assert_eq!(answer["abstain"], false, "{answer}");
    let ids = top_ids(&answer);
    assert_eq!(ids[0], "en-order-status", "{answer}");
    assert!(ids.iter().all(|id| id.starts_with("en-")), "only templates in the message's language: {ids:?}");
}

/// The cases a new user met against the default library (issue 24).
#[test]
fn an_angry_client_a_job_enquiry_and_a_promo_question_get_what_fits() {
    let lib = Library::empty();
    // Angry, not rude: nothing says the order was cancelled, so the template that states it is
    // not first (and says what it assumes), and the warning about rudeness is not offered.
    let angry = lib.suggest(&["--k", "3", "Вы издеваетесь?! Третий раз пишу… верните деньги"]);
    let ids = top_ids(&angry);
    assert_ne!(ids[0], "order-cancel-refund", "{angry}");
    assert!(!ids.contains(&"rude-warning".to_string()), "{angry}");
    for s in angry["suggestions"].as_array().unwrap() {
        if s["id"] == "order-cancel-refund" {
            assert_eq!(s["conditions"], serde_json::json!(["если заказ отменён"]), "{s}");
        }
    }
    // Said in the dialogue, the condition holds: the template is first and carries none.
    let cancelled = lib.suggest(&["--k", "3", "заказ отменили, когда деньги вернутся?"]);
    assert_eq!(top_ids(&cancelled)[0], "order-cancel-refund", "{cancelled}");
    assert!(cancelled["suggestions"][0].get("conditions").is_none(), "{cancelled}");
    // An insult is the evidence the warning needs.
    let rude = lib.suggest(&["--k", "3", "да вы идиоты, верните деньги"]);
    assert_eq!(top_ids(&rude)[0], "rude-warning", "{rude}");

    for job in ["Здравствуйте, у вас есть вакансии? Ищу работу", "куда можно отправить резюме?"]
    {
        let answer = lib.suggest(&["--k", "3", job]);
        assert_eq!(answer["abstain"], true, "{job}: {answer}");
        assert_eq!((&answer["abstention"]["reason"], &answer["abstention"]["topic"]), (&"topic".into(), &"job".into()));
    }
    let promo = lib.suggest(&["--k", "3", "есть промокоды?"]);
    assert_eq!(top_ids(&promo)[0], "promo-how", "{promo}");
    let spam = lib.suggest(&["--k", "3", "ЗАРАБОТОК ОТ 5000 В ДЕНЬ без вложений, пиши @easymoney"]);
    assert_eq!(spam["abstention"]["topic"], "earnings", "{spam}");
    // State services are no shop's to answer (found by a fresh-eyes review) …
    for state in ["Как записаться к врачу через Госуслуги?", "Как оплатить штраф ГИБДД?"]
    {
        let answer = lib.suggest(&["--k", "3", state]);
        assert_eq!(answer["abstention"]["topic"], "state", "{state}: {answer}");
    }
    // … but a topic named in passing is not what a client asks about.
    let porting = "Номер у меня десять лет один и тот же, он привязан везде: к банку, к госуслугам, к работе. \
                   Хочу перейти к вам со своим номером, что для этого нужно?";
    assert_eq!(top_ids(&lib.suggest(&["--k", "3", porting]))[0], "number-porting");
    // A complaint is not thanked for, and a threat of court is not told the item cannot be
    // returned (found by a fresh-eyes review).
    let complaint = lib.suggest(&["--k", "3", "ну и сервис у вас, курьер хамло, швырнул коробку, жалуюсь"]);
    assert!(top_ids(&complaint).first().is_none_or(|id| id != "feedback-thanks"), "{complaint}");
    let court = lib.suggest(&["--k", "3", "Верните мои деньги, мошенники! Я на вас в суд подам"]);
    assert!(top_ids(&court).first().is_none_or(|id| id != "return-refused"), "{court}");
}

#[test]
fn a_library_that_answers_job_enquiries_gets_them_suggested() {
    let lib = Library::empty();
    let pack = lib.file(
        "hr.jsonl",
        concat!(
            r#"{"id": "jobs", "title": "Вакансии", "text": "Открытые вакансии и форма для резюме — на странице {link}."}"#,
            "\n",
            r#"{"id": "hours", "title": "Часы работы", "text": "Мы работаем ежедневно с 9:00 до 21:00."}"#,
            "\n"
        ),
    );
    lib.ok(&["templates", "import", &pack, "--status", "approved"]);
    let answer = lib.suggest(&["--k", "1", "Здравствуйте, у вас есть вакансии? Ищу работу"]);
    assert_eq!(top_ids(&answer), ["jobs"], "{answer}");
}

#[test]
fn clicks_teach_the_ranking_and_unknown_ids_are_refused() {
    let lib = Library::empty();
    let question = "а можно привезти заказ на работу, а не домой?";
    let before = top_ids(&lib.suggest(&["--k", "1", question]));
    // The company answers this with the address-change template; operators chose it for
    // clients who asked nearly the same before.
    let history: String = [
        "можно привезти заказ на работу а не домой",
        "а можно заказ привезти мне на работу, не домой?",
        "привезите заказ на работу, а не домой, пожалуйста",
    ]
    .iter()
    .map(|t| format!("{{\"text\": \"{t}\", \"chosen_id\": \"address-change\"}}\n"))
    .collect();
    let file = lib.file("clicks.jsonl", &history);
    let bad =
        lib.file("bad-clicks.jsonl", &format!("{history}{{\"text\": \"x\", \"chosen_id\": \"no-such-template\"}}\n"));
    let err = lib.fails(&["feedback", "import", &bad]);
    assert!(err.contains("line 4") && err.contains("no-such-template") && err.contains("nothing imported"), "{err}");
    lib.ok(&["feedback", "import", &file]);
    let after = lib.suggest(&["--k", "1", question]);
    assert_eq!(top_ids(&after), ["address-change"], "before the clicks: {before:?}");
    let why = &after["suggestions"][0]["why"];
    assert!(why["feedback"].as_f64().unwrap() > 0.93 && why["learned"].as_f64().unwrap() > 0.0, "{why}");
    // Clicks on one template leave unrelated questions where they were.
    assert_eq!(top_ids(&lib.suggest(&["--k", "1", "до скольки вы сегодня работаете?"])), ["working-hours"]);
}

#[test]
fn a_restart_reuses_the_cached_embeddings() {
    let lib = Library::empty();
    let pack = lib.file("pack.jsonl", SMALL_PACK);
    let out = sufler_env(&["templates", "import", &pack, "--db", lib.db()], b"", &[("SUFLER_LOG", "sufler=info")]);
    // Three passages, three titles and the scope prior's examples, all new.
    assert!(stderr(&out).contains("embedded ") && !stderr(&out).contains("embedded 0 texts"), "{}", stderr(&out));
    let out = sufler_env(&["suggest", "--db", lib.db(), "режим работы"], b"", &[("SUFLER_LOG", "sufler=info")]);
    let log = stderr(&out);
    assert!(out.status.success() && log.contains("embedded 0 texts"), "{log}");
}

#[test]
fn a_damaged_library_file_is_an_error_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("library.db");
    std::fs::write(&db, b"this is not SQLite at all, but it is long enough to have a header ............").unwrap();
    let before = std::fs::read(&db).unwrap();
    let out = sufler(&["suggest", "--json", "--db", db.to_str().unwrap(), "где заказ"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("damaged or is not a database"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn bad_requests_get_a_message_and_exit_1() {
    let lib = Library::empty();
    // ASCII: a single argument may not exceed 128 KiB on Linux.
    let long = "a".repeat(100 * 1024);
    for (args, expected) in [
        (vec!["suggest", "--json", "   "], "empty text"),
        (vec!["suggest", "--json", "--k", "0", "где заказ"], "k must be between"),
        (vec!["suggest", "--json", long.as_str()], "the limit is"),
        (vec!["templates", "import", "/no/such/file.jsonl"], "No such file"),
    ] {
        let err = lib.fails(&args);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

/// A help centre's long articles (eval/sets/kb-long, development split): scored by their best
/// part as well as whole, they rank above plain e5 (0.787 against 0.800 before parts).
#[test]
fn long_articles_rank_above_plain_e5() {
    let set = root().join("eval/sets/kb-long/messages-dev.jsonl");
    let pack = root().join("eval/sets/kb-long/templates.jsonl");
    let report = eval_suggest(&[set.to_str().unwrap(), "--pack", pack.to_str().unwrap()]);
    let metric = |id: &str| metric(&report, id);
    assert!(metric("r@1") >= metric("baseline_r@1") + 0.02, "{} vs {}", metric("r@1"), metric("baseline_r@1"));
    assert!(metric("abstain_false_rate") <= 0.05, "{}", metric("abstain_false_rate"));
}

#[test]
fn the_dev_set_meets_the_ranking_goals() {
    // The dev set with the development split of the out-of-scope messages (the held-out split
    // is reported in the issue notes, never tuned on or asserted).
    let set = std::env::temp_dir().join(format!("suggest-dev-oos-{}.jsonl", std::process::id()));
    let mut lines = std::fs::read_to_string(root().join("eval/sets/suggest-dev.jsonl")).unwrap();
    lines.push_str(&std::fs::read_to_string(root().join("eval/sets/suggest-oos-dev.jsonl")).unwrap());
    std::fs::write(&set, lines).unwrap();
    let report = eval_suggest(&[set.to_str().unwrap()]);
    std::fs::remove_file(&set).unwrap();
    let metric = |id: &str| metric(&report, id);
    assert!(metric("cases") >= 250.0);
    let (cold, baseline) = (metric("r@1"), metric("baseline_r@1"));
    assert!(cold >= baseline + 0.08, "cold {cold} vs baseline {baseline}");
    assert!(metric("warm_r@1") >= 0.90, "warm {}", metric("warm_r@1"));
    // Clicks from one half must lift the other half by 5 points.
    assert!(metric("clicks_r@1") >= cold + 0.05, "clicks {} vs cold {cold}", metric("clicks_r@1"));
    // Abstention: most out-of-scope messages get nothing, at most 2 % of answerable ones do
    // (0.69 and 1.4 % when this was written; 0.06 and 0 with the threshold of version one,
    // 0.56 and 1.9 % without the scope prior).
    assert!(metric("abstain_recall") >= 0.6, "abstain recall {}", metric("abstain_recall"));
    assert!(metric("abstain_false_rate") <= 0.02, "answerable abstained on {}", metric("abstain_false_rate"));
    assert!(metric("abstain_precision") >= 0.9, "abstain precision {}", metric("abstain_precision"));
    // A threshold calibrated on one half of the set holds on the other (0.717 and 1.7 % when
    // this was written).
    let (recall, false_rate) = (metric("calibrated_abstain_recall"), metric("calibrated_abstain_false_rate"));
    assert!(recall >= 0.6 && false_rate <= 0.025, "calibrated: recall {recall}, false rate {false_rate}");
    let abstention = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "curve" && s["title"].as_str().unwrap().starts_with("Отказ от подсказки"));
    let points = abstention.expect("the abstention curve")["series"][0]["points"].as_array().unwrap().clone();
    let xy: Vec<(f64, f64)> = points.iter().map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())).collect();
    // From abstaining only on the messages no template's language fits to abstaining on all.
    assert_eq!((xy[0].0, xy[xy.len() - 1]), (0.0, (1.0, 1.0)), "{xy:?}");
    assert!(xy.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1), "monotone: {xy:?}");
    // The report carries the R@k curves (k = 1..10), monotone.
    let curve = report["sections"].as_array().unwrap().iter().find(|s| s["type"] == "curve").unwrap();
    for series in curve["series"].as_array().unwrap() {
        let ys: Vec<f64> = series["points"].as_array().unwrap().iter().map(|p| p[1].as_f64().unwrap()).collect();
        assert!(ys.len() == 10 && ys.windows(2).all(|w| w[0] <= w[1]), "{series}");
    }
}

/// A library nobody in the project wrote (eval/sets/library-b) calibrates its own threshold on
/// its labelled messages; suggestions then abstain by it, a dry run keeps nothing, `--reset`
/// returns to the default, and unusable targets or files are refused.
#[test]
fn a_library_calibrates_its_own_abstention_threshold() {
    let lib = Library::empty();
    let b = root().join("eval/sets/library-b");
    let (templates, messages) = (b.join("templates.jsonl"), b.join("messages.jsonl"));
    let messages = messages.to_str().unwrap();
    lib.ok(&["templates", "import", templates.to_str().unwrap()]);
    let texts: String = std::fs::read_to_string(messages)
        .unwrap()
        .lines()
        .map(|l| format!("{}\n", serde_json::json!({ "text": serde_json::from_str::<Value>(l).unwrap()["text"] })))
        .collect();
    let batch = lib.file("texts.jsonl", &texts);
    let abstentions = || {
        let out = lib.ok(&["suggest", "--json", "--batch", &batch]);
        out.lines().filter(|l| serde_json::from_str::<Value>(l).unwrap()["abstain"] == true).count()
    };
    let default = abstentions();

    let out = lib.ok(&["templates", "calibrate", messages]);
    assert!(out.contains("160 messages (90 with a right template, 70 with none)"), "{out}");
    let recall: f64 = out.split("on these messages: ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(recall >= 50.0, "{out}");
    // A looser target (a third of answerable messages may go unanswered) abstains on more.
    let loose = lib.ok(&["templates", "calibrate", "--false-rate", "0.3", "--dry-run", messages]);
    assert!(loose.contains("dry run: nothing kept"), "{loose}");
    let kept = abstentions();
    lib.ok(&["templates", "calibrate", "--false-rate", "0.3", messages]);
    let looser = abstentions();
    assert!(looser > kept && looser > default, "default {default}, calibrated {kept}, loose {looser}");
    lib.ok(&["templates", "calibrate", "--reset"]);
    assert_eq!(abstentions(), default);

    let lines: Vec<Value> =
        std::fs::read_to_string(messages).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let jsonl = |cases: &[Value]| cases.iter().map(|c| format!("{c}\n")).collect::<String>();
    let few = lib.file("few.jsonl", &jsonl(&lines[..10]));
    // Each answerable message twice, once labelled as unanswerable: no threshold tells them apart.
    let answerable: Vec<&Value> = lines.iter().filter(|c| c["labels"] != serde_json::json!([])).take(25).collect();
    let twins: Vec<Value> = answerable
        .iter()
        .flat_map(|c| {
            let mut twin = (*c).clone();
            twin["id"] = format!("{}-twin", c["id"].as_str().unwrap()).into();
            twin["labels"] = serde_json::json!([]);
            [(*c).clone(), twin]
        })
        .collect();
    let twins = lib.file("twins.jsonl", &jsonl(&twins));
    for (args, expected) in [
        (vec!["templates", "calibrate", few.as_str()], "at least 20"),
        (vec!["templates", "calibrate", "--false-rate", "1.5", messages], "between 0 and 1"),
        (vec!["templates", "calibrate", "--precision", "2", messages], "between 0 and 1"),
        (vec!["templates", "calibrate", "--false-rate", "0.01", twins.as_str()], "no threshold"),
    ] {
        let err = lib.fails(&args);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}
