//! Drafts written by people who never saw the dev sets, on which the rewrite once failed
//! (issue 17), and rude drafts, which must be caught and never decorated (issue 18). Each test states what every correct rewrite has; none of these drafts is in a dev
//! set. No encoder: these are the style engine's own decisions.

use std::sync::OnceLock;

use sufler::style::{Context, Rewrite, StyleEngine};

fn engine() -> &'static StyleEngine {
    static ENGINE: OnceLock<StyleEngine> = OnceLock::new();
    ENGINE.get_or_init(|| StyleEngine::embedded().expect("the embedded style data loads"))
}

fn ctx(first: Option<bool>) -> Context {
    Context { first_message: first, ..Context::default() }
}

fn named(name: &str, first: Option<bool>, uses: u32) -> Context {
    Context { client_name: Some(name.into()), first_message: first, name_uses: uses, ..Context::default() }
}

fn rewrite(draft: &str, ctx: &Context) -> Rewrite {
    let r = engine().rewrite(draft, ctx, None).expect("rewrite runs");
    // Every rewrite: the check of the draft and of its rewrite agree (no rule fires only after
    // the rewrite), and the rewrite is a fixed point.
    let before: Vec<String> = rules_of(draft, ctx);
    for issue in &r.issues {
        assert!(
            before.contains(&issue.rule),
            "{draft:?} → {:?}: «{}» fires on the rewrite only ({})",
            r.text,
            issue.rule,
            issue.message
        );
    }
    let again = engine().rewrite(&r.text, ctx, None).expect("rewrite runs");
    assert_eq!(again.text, r.text, "not idempotent on {draft:?}");
    r
}

fn rules_of(text: &str, ctx: &Context) -> Vec<String> {
    engine().check(text, ctx, None).expect("check runs").issues.into_iter().map(|i| i.rule).collect()
}

/// Whole-word, case-insensitive.
fn has_word(text: &str, word: &str) -> bool {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric() && c != '-').collect();
    let needle: Vec<String> = word.to_lowercase().split_whitespace().map(String::from).collect();
    words.windows(needle.len()).any(|w| w.iter().zip(&needle).all(|(a, b)| a == b))
}

#[test]
fn issue17_1_discourse_imperative_subordinate_agreement_and_comma() {
    let draft = "слушай, ты сам виноват что не указал подъезд";
    let c = ctx(Some(false));
    assert!(rules_of(draft, &c).contains(&"no-blame".to_string()), "blame is reported on the draft");
    let r = rewrite(draft, &c);
    assert!(!has_word(&r.text, "слушай") && !has_word(&r.text, "ты"), "{:?}", r.text);
    assert!(r.text.contains("виноваты, что не указали"), "{:?}", r.text);
}

#[test]
fn issue17_2_no_i_dont_know_is_not_spliced_into_another_clause() {
    let draft = "Ну... я даже не знаю что сказать...";
    let c = ctx(Some(false));
    assert!(rules_of(draft, &c).contains(&"no-i-dont-know".to_string()));
    let r = rewrite(draft, &c);
    assert!(!r.text.to_lowercase().contains("даже мне"), "{:?}", r.text);
    assert!(!r.text.contains("Ну... Я"), "{:?}", r.text);
}

#[test]
fn issue17_3_abbreviation_dot_ends_the_sentence() {
    let c = ctx(Some(false));
    assert_eq!(rewrite("Стоимость 1 500 руб.", &c).text, "Стоимость 1 500 руб.");
    let r = rewrite("Стоимость 3000р", &c);
    assert!(!r.text.contains(".."), "{:?}", r.text);
    assert!(r.text.contains("3000р"), "{:?}", r.text);
}

#[test]
fn issue17_4_softener_gets_both_commas_and_slang_verb_goes() {
    let r = rewrite("пришли номер заказа, сейчас всё порешаем", &ctx(Some(false)));
    assert!(r.text.contains("Пришлите, пожалуйста, номер заказа"), "{:?}", r.text);
    assert!(!has_word(&r.text, "порешаем"), "{:?}", r.text);
}

#[test]
fn issue17_5_caps_one_letter_words_are_lowered_too() {
    let r = rewrite("ЖДИТЕ КУРЬЕРА ЗАВТРА С 10 ДО 18", &ctx(Some(false)));
    assert!(r.text.contains("завтра с 10 до 18"), "{:?}", r.text);
}

#[test]
fn issue17_6_emoji_between_clauses_become_sentence_breaks_and_name_is_used() {
    let draft = "Добрый день 😊 посылочка уже в пути 🚚 будет в четверг))";
    let r = rewrite(draft, &named("Марина", Some(true), 0));
    assert!(r.text.starts_with("Добрый день, Марина!"), "{:?}", r.text);
    assert!(!r.text.contains("день посылка") && !r.text.contains("пути будет"), "run-on: {:?}", r.text);
    assert!(!r.text.contains("))") && !r.text.contains('😊'), "{:?}", r.text);
}

#[test]
fn issue17_7_email_greeting_and_signature_are_recognised() {
    let c = Context {
        client_name: Some("Ирина Петровна".into()),
        first_message: Some(true),
        profile: Some("email".into()),
        ..Context::default()
    };
    let draft = "Уважаемая Ирина Петровна!\nСчёт направлен.";
    let r = rewrite(draft, &c);
    assert!(!r.text.contains("Здравствуйте") && !r.text.contains("Уважаемая,"), "{:?}", r.text);
    assert!(!rules_of(draft, &c).contains(&"greeting".to_string()));
    let signed = "Уважаемая Ирина Петровна!\nСчёт направлен.\nС уважением, Мария";
    let r = rewrite(signed, &c);
    assert!(r.text.ends_with("С уважением, Мария"), "{:?}", r.text);
}

#[test]
fn issue17_8_slang_vocative_is_dropped_and_idiom_goes() {
    let r = rewrite("Чел, не беспокойтесь, нормально всё будет, зуб даю", &ctx(Some(false)));
    assert!(!has_word(&r.text, "чел") && !has_word(&r.text, "человек"), "{:?}", r.text);
    assert!(!has_word(&r.text, "зуб даю"), "{:?}", r.text);
}

#[test]
fn issue17_9_possessive_agrees_and_jargon_is_replaced() {
    let draft = "Извините за delay, твое обращение заэскалейчено на второй лайн";
    let c = ctx(Some(false));
    let r = rewrite(draft, &c);
    assert!(r.text.contains("Ваше обращение"), "{:?}", r.text);
    for jargon in ["delay", "заэскалейчено", "лайн"] {
        assert!(!has_word(&r.text, jargon), "{jargon} stays: {:?}", r.text);
    }
    let report = engine().check(draft, &c, None).unwrap();
    for issue in report.issues.iter().filter(|i| i.rule == "spelling") {
        assert!(!issue.replacements.iter().any(|r| r == "лайк" || r.starts_with("искалечен")), "{issue:?}");
    }
}

#[test]
fn issue17_10_informal_greeting_mid_dialogue_goes_and_the_name_is_used() {
    let r = rewrite("привет, щас гляну твой заказ", &named("Анна", Some(false), 0));
    assert!(!has_word(&r.text, "привет") && !r.text.contains("Здравствуйте"), "{:?}", r.text);
    assert!(r.text.contains("Анна"), "{:?}", r.text);
    assert!(r.text.contains("Ваш заказ"), "{:?}", r.text);
}

#[test]
fn issue17_11_blame_without_a_fixed_phrase_is_reported() {
    let c = ctx(Some(false));
    for draft in [
        "Вы неправильно указали адрес. Надо было внимательнее заполнять форму.",
        "Вы сами неправильно ввели номер карты.",
    ] {
        assert!(rules_of(draft, &c).contains(&"no-blame".to_string()), "{draft}");
    }
    let two = engine().check("Вы неправильно указали адрес. Надо было внимательнее заполнять форму.", &c, None);
    assert_eq!(two.unwrap().issues.iter().filter(|i| i.rule == "no-blame").count(), 2);
}

#[test]
fn issue17_12_comma_spliced_statements_are_split() {
    let r = rewrite("доставка завтра, оплатить можно при получении, скидка 5 процентов", &ctx(Some(false)));
    assert_eq!(r.text, "Доставка завтра. Оплатить можно при получении. Скидка 5 процентов.");
}

#[test]
fn issue17_13_unknown_position_in_the_dialogue_gets_no_greeting() {
    let draft = "Сейчас посмотрю Ваш заказ.";
    assert!(!rules_of(draft, &ctx(None)).contains(&"greeting".to_string()));
    assert_eq!(rewrite(draft, &ctx(None)).text, draft);
    // Told it is the first message, the greeting is due.
    assert!(rules_of(draft, &ctx(Some(true))).contains(&"greeting".to_string()));
}

#[test]
fn guard_refuses_an_edit_that_doubles_punctuation() {
    // Whatever the rules do, a rewrite never ends with doubled punctuation it did not have.
    for draft in ["Цена 990 руб.", "итого 3000р", "Оплата по ссылке www.shop.ru.", "скидка 5%."]
    {
        let r = rewrite(draft, &ctx(Some(false)));
        assert!(!r.text.contains("..") || draft.contains(".."), "{draft:?} → {:?}", r.text);
    }
}

// Found by a reviewer who wrote drafts as a hurried operator and judged the rewrites as an
// editor (none of these is in a dev set).

#[test]
fn editor_agreement_stays_with_the_subject_of_a_new_clause() {
    let r = rewrite("ты сам неправильно указал адрес поэтому заказ и вернулся на склад", &ctx(Some(false)));
    assert!(r.text.contains("указали адрес, поэтому заказ и вернулся"), "{:?}", r.text);
}

#[test]
fn editor_softener_from_slang_gets_its_commas() {
    let r = rewrite("скиньте плз скрин ошибки, гляну че там с интеграцией", &ctx(Some(false)));
    assert!(r.text.contains("пожалуйста, "), "{:?}", r.text);
    assert!(!r.text.contains("пожалуйста снимок"), "{:?}", r.text);
}

#[test]
fn editor_a_group_is_addressed_with_lower_case_vy() {
    let r = rewrite("коллеги, накладную вам отправили вчера, проверьте почту", &ctx(Some(false)));
    assert!(r.text.contains("накладную вам отправили"), "{:?}", r.text);
}

#[test]
fn editor_greeting_after_a_lower_case_name_is_recognised() {
    for (name, draft) in [
        ("Дмитрий", "дмитрий добрый вечер, по вашему вопросу всё решили"),
        ("Павел", "павел здравствуйте. счет отправил"),
    ] {
        let r = rewrite(draft, &named(name, Some(true), 0));
        assert!(!r.text.contains("Здравствуйте, ") && r.text.matches(name).count() == 1, "{:?}", r.text);
    }
}

#[test]
fn editor_greeting_after_an_address_stays_lower_case_and_a_misread_word_does_not_block_vy() {
    let draft = "Сергей, привет! Ты уже пробовал перезагрузить роутер? выключи его на 30 сек";
    let r = rewrite(draft, &named("Сергей", Some(true), 0));
    assert!(r.text.starts_with("Сергей, здравствуйте!"), "{:?}", r.text);
    assert!(r.text.contains("Вы уже пробовали") && !r.text.contains("роутерли"), "{:?}", r.text);
    assert!(!r.text.contains("секунду"), "a number governs the noun: {:?}", r.text);
}

#[test]
fn editor_a_swap_that_breaks_gender_agreement_is_only_reported() {
    let r = rewrite("на сервере был апдейт, щас все норм", &ctx(Some(false)));
    assert!(!r.text.contains("был обновление"), "{:?}", r.text);
}

#[test]
fn editor_a_discourse_marker_gets_no_softener() {
    let r = rewrite("слушайте ну сколько можно, я вам уже три раза объяснила!!!", &ctx(Some(false)));
    assert!(!r.text.contains("пожалуйста"), "{:?}", r.text);
}

// A second fresh-eyes review (40 drafts by an editor who never saw the sets): the outputs it
// judged bad.

#[test]
fn review2_a_draft_that_opens_with_the_name_gets_the_greeting_before_it_not_beside_it() {
    let r = rewrite(
        "Анастасия, ваш заказ 1029384 будет у вас завтра, курьер позвонит за час",
        &named("Анастасия", Some(true), 0),
    );
    assert!(r.text.starts_with("Здравствуйте, Анастасия! Ваш заказ 1029384"), "{:?}", r.text);
    assert_eq!(r.text.matches("Анастасия").count(), 1, "{:?}", r.text);
    let r = rewrite(
        "зульфия рашидовна, полис продлен до 31.12.2026, пришлем на почту zulfia.r@mail.ru",
        &named("Зульфия Рашидовна", Some(true), 0),
    );
    assert_eq!(r.text.to_lowercase().matches("зульфия").count(), 1, "{:?}", r.text);
    assert!(r.text.starts_with("Здравствуйте, Зульфия Рашидовна! Полис"), "{:?}", r.text);
}

#[test]
fn review2_a_lower_case_name_and_patronymic_stay_one_address() {
    let c = Context {
        client_name: Some("Ирина Петровна".into()),
        first_message: Some(true),
        profile: Some("email".into()),
        ..Context::default()
    };
    let r = rewrite("добрый день ирина петровна\n\nвыплата одобрена.", &c);
    assert!(r.text.starts_with("Добрый день, Ирина Петровна"), "{:?}", r.text);
}

#[test]
fn review2_a_message_to_a_group_keeps_its_greeting_and_lower_case_you() {
    let c = Context { first_message: Some(true), profile: Some("messenger-b2b".into()), ..Context::default() };
    let draft = "Коллеги, добрый день! Направляем вам акт сверки за I квартал 2026 года по договору № 15/24-ЭД. \
                 Просим подписать его в ЭДО до 10 апреля.";
    let r = rewrite(draft, &c);
    assert_eq!(r.text, draft);
    assert!(!rules_of(draft, &c).contains(&"ask-name".to_string()));
    let r = rewrite(
        "Коллеги привет, по вашему ИНН 7701234567 счёт №А-3391 на 125 000 ₽ выставили",
        &Context { client_name: Some("Алексей".into()), ..c.clone() },
    );
    assert!(r.text.starts_with("Коллеги, здравствуйте! По вашему ИНН"), "{:?}", r.text);
    assert!(!has_word(&r.text, "привет") && !has_word(&r.text, "Алексей"), "{:?}", r.text);
}

#[test]
fn review2_i_dont_know_before_a_clause_of_its_own_is_deleted_not_turned_into_a_promise() {
    let c = ctx(Some(false));
    let r = rewrite("не знаю, это не к нам, звоните в банк", &c);
    assert!(r.text.starts_with("Это не к нам"), "{:?}", r.text);
    assert!(!r.text.contains("уточн"), "{:?}", r.text);
    let r = rewrite("ну хз, может глюк какой-то, попробуйте переустановить", &c);
    assert!(!has_word(&r.text, "хз") && !has_word(&r.text, "ну") && !r.text.contains("уточн"), "{:?}", r.text);
    // An indirect question still becomes a promise to find out.
    let r = rewrite("я не знаю когда придёт курьер", &c);
    assert!(r.text.starts_with("Мне нужно уточнить, когда придёт курьер"), "{:?}", r.text);
}

#[test]
fn review2_the_guard_does_not_refuse_a_greeting_because_what_the_message_lacks_moved() {
    let c = Context {
        client_name: Some("Анна".into()),
        operator_name: Some("Ольга".into()),
        client_messages: vec!["Где мой заказ 4821-1934? Уже неделю жду".into()],
        first_message: Some(true),
        ..Context::default()
    };
    let r = rewrite("привет, щас гляну твой заказ № 4821-1934. короче, посылочка пришла в пункт выдачи", &c);
    assert!(r.text.starts_with("Здравствуйте, Анна!"), "{:?}", r.text);
    assert!(!has_word(&r.text, "щас") && !has_word(&r.text, "привет"), "{:?}", r.text);
    assert!(r.withheld.is_empty(), "{:?}", r.withheld);
}

#[test]
fn review2_a_correct_letter_keeps_its_signature_block_and_its_policy_series() {
    let c = Context {
        client_name: Some("Ирина Петровна".into()),
        first_message: Some(true),
        profile: Some("email".into()),
        ..Context::default()
    };
    let draft = "Здравствуйте, Ирина Петровна!\n\nБлагодарим Вас за обращение. Выплата по полису ХХХ 0123456789 \
                 одобрена.\n\nС уважением,\nМария Иванова,\nотдел урегулирования убытков";
    assert_eq!(rewrite(draft, &c).text, draft);
    assert!(!rules_of(draft, &c).contains(&"shouting".to_string()));
}

#[test]
fn review2_reproaches_are_reported_as_blame() {
    let c = ctx(Some(false));
    for draft in [
        "ну я ж вам писал что карту надо разблокировать в приложении, вы не прочитали что ли",
        "я вам уже третий раз объясняю, деньги вернутся только после того как склад примет товар",
    ] {
        assert!(rules_of(draft, &c).contains(&"no-blame".to_string()), "{draft:?}");
    }
}

// ---- issue 19: bounded work and output ----

/// The dialogue the fuzz harness (`fuzz/fuzz_targets/check_rewrite.rs`) derives from a
/// single-line input: the client's name before the first colon, the client's message after it,
/// the whole line as the draft; here with the profile and position of finding 1.
fn harness_dialogue(text: &str) -> Context {
    let (name, message) = text.split_once(':').unwrap_or((text, text));
    Context {
        client_name: Some(name.trim().to_string()),
        client_messages: vec![message.trim().to_string()],
        operator_name: Some("Ольга".to_string()),
        first_message: Some(true),
        profile: Some("messenger-b2b".to_string()),
        ..Context::default()
    }
}

/// The rewrite ends, within twice the draft plus a greeting and an introduction, and rewriting
/// its result changes nothing.
fn assert_bounded(draft: &str, ctx: &Context) -> Rewrite {
    let r = engine().rewrite(draft, ctx, None).expect("rewrite runs");
    // The greeting and the introduction with the names in them, and 64 characters of slack.
    let chars = |s: Option<&str>| s.map_or(0, |s| s.chars().count());
    let allowance = "Здравствуйте, ! Меня зовут {operator}, я помогу Вам.".chars().count()
        + chars(ctx.client_name.as_deref())
        + chars(ctx.operator_name.as_deref())
        + 64;
    let (draft_chars, out_chars) = (draft.chars().count(), r.text.chars().count());
    assert!(out_chars <= 2 * draft_chars + allowance, "{draft_chars} chars became {out_chars}: {:?}", r.text);
    let again = engine().rewrite(&r.text, ctx, None).expect("rewrite runs");
    assert_eq!(again.text, r.text, "not idempotent on {draft:?}");
    r
}

#[test]
fn issue19_1_fuzz_input_whose_client_name_holds_its_first_name_stays_bounded() {
    // Once 672 characters → 12 MB in 29 s: B2 put the full name (which holds the first name
    // again) in place of the first name, round after round.
    let bytes = include_bytes!("../fuzz/corpus/check_rewrite/regression-timeout-8311419.txt");
    let text = String::from_utf8_lossy(bytes);
    let ctx = harness_dialogue(&text);
    assert_bounded(&text, &ctx);
}

#[test]
fn issue19_1_a_name_made_of_its_first_name_twice_is_written_once() {
    // B2 (name + patronymic) must not feed itself: «Анна» → «Анна Анна» → «Анна Анна Анна» …
    for name in ["Анна Анна", "Иван Иван Иванович", "Ваш Ваш"] {
        let ctx = Context { profile: Some("messenger-b2b".into()), ..named(name, Some(true), 0) };
        for draft in ["Анна, заказ готов.", "Иван, Ваш заказ готов, Иван.", "твой заказ готов, ваш менеджер"]
        {
            let r = assert_bounded(draft, &ctx);
            // At most the full name for each use in the draft, and once more in the greeting.
            let first = name.split_whitespace().next().unwrap();
            let most = (draft.matches(first).count() + 1) * name.matches(first).count();
            assert!(r.text.matches(first).count() <= most, "{name}: {draft:?} → {:?}", r.text);
        }
    }
}

#[test]
fn issue19_1_many_sentences_and_many_fixes_stay_within_the_bound() {
    // «Да. »×N (A3 once scanned the whole text per sentence) and «ты »×N (one fix per word).
    for draft in ["Да. ".repeat(5000), "ты ".repeat(5000), "Пришлите номер. ".repeat(2000)] {
        assert_bounded(&draft, &ctx(Some(true)));
    }
}

/// Every given name and pet form of the name dictionary (`prompts/style/names.tsv`).
fn dictionary_names() -> Vec<String> {
    let mut names: Vec<String> = include_str!("../prompts/style/names.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .flat_map(|l| {
            let mut fields = l.split('\t');
            let full = fields.next().unwrap_or("").to_string();
            let forms = fields.nth(1).unwrap_or("").split(',').map(str::to_string).collect::<Vec<_>>();
            std::iter::once(full).chain(forms)
        })
        .filter(|n| n.chars().count() >= 3)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `word` with one letter substituted, inserted or deleted (lower-case Cyrillic letters), its
/// first letter kept upper-case.
fn one_edit_away(word: &str) -> Vec<String> {
    let letters: Vec<char> = ('а'..='я').chain(['ё']).collect();
    let chars: Vec<char> = word.to_lowercase().chars().collect();
    let mut out = Vec::new();
    for k in 0..=chars.len() {
        for &c in &letters {
            let mut inserted = chars.clone();
            inserted.insert(k, c);
            out.push(inserted);
            if k < chars.len() && chars[k] != c {
                let mut substituted = chars.clone();
                substituted[k] = c;
                out.push(substituted);
            }
        }
        if k < chars.len() {
            let mut deleted = chars.clone();
            deleted.remove(k);
            out.push(deleted);
        }
    }
    out.into_iter()
        .map(|w| {
            let mut it = w.into_iter();
            it.next().map(|f| f.to_uppercase().chain(it).collect()).unwrap_or_default()
        })
        .collect()
}

#[test]
fn issue19_3_common_words_one_edit_from_a_name_are_never_taken_for_it() {
    // Once «Ваша заявка принята.» became «Маша, заявка принята.» for the client Маша. Every name
    // and pet form of the dictionary against every word one edit away that the morphology
    // dictionary knows as something other than a name, at the start of a sentence and as an
    // address.
    let morph = sufler::text::morph::Morph::global();
    let common = |w: &str| {
        let proper = ["Name", "Surn", "Patr", "Geox", "Orgn", "Trad"];
        morph.analyses(w).iter().any(|a| a.known && !proper.iter().any(|g| a.has(g)))
    };
    let mut tried = 0;
    let mut wrong = Vec::new();
    for name in dictionary_names() {
        let ctx = named(&name, None, 0);
        let mut words = one_edit_away(&name);
        words.sort();
        words.dedup();
        for word in words.iter().filter(|w| common(w)) {
            for draft in [format!("{word} указана в заявке."), format!("Спасибо, {word}!")] {
                tried += 1;
                let fixed = engine().fix_only(&draft, &ctx, "name-spelling");
                if fixed != draft {
                    wrong.push(format!("{name}: {draft:?} → {fixed:?}"));
                }
            }
        }
    }
    assert!(tried > 1000, "only {tried} drafts generated");
    assert!(wrong.is_empty(), "{} of {tried} drafts changed:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn issue19_3_the_four_reported_words_stay() {
    for (name, draft) in [
        ("Маша", "Ваша заявка принята."),
        ("Лена", "Цена указана"),
        ("Вера", "Вчера мы отправили"),
        ("Саша", "Наша команда"),
    ] {
        let r = rewrite(draft, &named(name, Some(false), 1));
        assert!(r.edits.iter().all(|e| e.rule != "name-spelling"), "{name}: {draft:?} → {:?}", r.text);
        assert!(!r.text.contains(name), "{name}: {draft:?} → {:?}", r.text);
    }
}

#[test]
fn issue19_3_a_misspelt_name_in_an_address_is_still_fixed() {
    let ctx = named("Марина", Some(false), 1);
    for (draft, fixed) in [
        ("Марна, Ваш заказ готов.", "Марина, Ваш заказ готов."),
        ("Здравствуйте, Марна! Ваш заказ готов.", "Здравствуйте, Марина! Ваш заказ готов."),
        ("Спасибо, Марна!", "Спасибо, Марина!"),
        ("Уважаемая Марна, Ваш заказ готов.", "Уважаемая Марина, Ваш заказ готов."),
    ] {
        assert_eq!(engine().fix_only(draft, &ctx, "name-spelling"), fixed);
    }
    // Every full name of the dictionary with one inner letter dropped (when that is no word and
    // no case form of the name), as the address of a greeting.
    let morph = sufler::text::morph::Morph::global();
    let mut fixed_count = 0;
    for name in dictionary_names().iter().filter(|n| n.chars().count() >= 5) {
        let chars: Vec<char> = name.chars().collect();
        let typo: String = chars[..2].iter().chain(&chars[3..]).collect();
        let lower = name.to_lowercase();
        let proper = ["Name", "Surn", "Patr", "Geox", "Orgn", "Trad"];
        let common = |a: &sufler::text::morph::Analysis| a.known && !proper.iter().any(|g| a.has(g));
        if morph.analyses(&typo).iter().any(|a| common(a) || a.lemma == lower) {
            continue;
        }
        let ctx = named(name, None, 0);
        assert_eq!(
            engine().fix_only(&format!("Здравствуйте, {typo}!"), &ctx, "name-spelling"),
            format!("Здравствуйте, {name}!"),
            "{name}"
        );
        fixed_count += 1;
    }
    assert!(fixed_count > 100, "only {fixed_count} names tried");
}

// A third fresh-eyes review (20 drafts by an editor who never saw the sets): its bad outputs.

#[test]
fn review3_a_pet_form_of_the_name_opening_the_draft_is_the_address_not_a_second_greeting() {
    let r = rewrite(
        "танечка привет) посылочку вашу нашли завтра курьерчик привезет с 10 до 14",
        &named("Татьяна", Some(true), 0),
    );
    assert_eq!(r.text.matches("Татьяна").count(), 1, "{:?}", r.text);
    assert!(!has_word(&r.text, "привет") && !has_word(&r.text, "здравствуйте здравствуйте"), "{:?}", r.text);
}

#[test]
fn review3_an_abbreviated_please_is_not_doubled_by_an_inserted_one() {
    let r = rewrite(
        "павел роутер перезагрузите пжлст если не поможет оставлю заявку на выезд мастера",
        &named("Павел", Some(false), 1),
    );
    assert_eq!(r.text.matches("пожалуйста").count(), 1, "{:?}", r.text);
    assert!(!has_word(&r.text, "пжлст"), "{:?}", r.text);
}

#[test]
fn review3_a_rude_rhetorical_question_is_reported_and_gets_no_conjunction_comma() {
    let c = named("Дмитрий", Some(true), 0);
    let draft = "ВЫ ЧТО НЕ ВИДИТЕ ЧТО ТАРИФ УЖЕ ПОДКЛЮЧЕН!!! проверьте в личном кабинете";
    assert!(rules_of(draft, &c).contains(&"no-blame".to_string()));
    let r = rewrite(draft, &c);
    assert!(!r.text.contains("Вы, что"), "{:?}", r.text);
}

#[test]
fn review3_a_greeting_run_into_the_sentence_becomes_a_sentence_of_its_own() {
    let r = rewrite("привет щас гляну", &named("Анна", Some(true), 0));
    assert_eq!(r.text, "Здравствуйте, Анна! Сейчас посмотрю.");
}

// A fourth fresh-eyes review (20 drafts by an editor who never saw the sets): its bad outputs
// and the misses that were fixed.

#[test]
fn review4_a_code_of_digits_and_capital_letters_is_a_fact() {
    let draft = "Анна смотрите ситуация такая ваш заказ номер 3345-ПЛ собран но на складе не хватило одной позиции";
    let r = rewrite(draft, &named("Анна", Some(false), 1));
    assert!(r.text.contains("3345-ПЛ"), "{:?}", r.text);
    // «смотрите» before a nominative is a discourse marker, not a request to soften.
    assert!(!r.text.contains("пожалуйста"), "{:?}", r.text);
    // An ordinal in a shouted draft is still lowered.
    let r = rewrite("ЖДИТЕ ДО 12-ГО ЧИСЛА", &ctx(Some(false)));
    assert!(r.text.to_lowercase().contains("12-го числа") && !r.text.contains("ГО"), "{:?}", r.text);
}

#[test]
fn review4_the_find_out_wording_is_used_once_per_message() {
    let draft = "без понятия почему так, я не знаю как это работает, спросите в банке который выпустил карту";
    let r = rewrite(draft, &ctx(Some(false)));
    assert_eq!(r.text.to_lowercase().matches("нужно уточнить").count(), 1, "{:?}", r.text);
    assert!(r.issues.iter().any(|i| i.rule == "no-i-dont-know"), "the second phrase is still reported");
}

#[test]
fn review4_thanks_for_what_the_client_did_takes_the_formal_verb() {
    let r = rewrite("спасибо что написала. по твоему вопросу: счет выставлен", &named("Елена", Some(false), 1));
    assert!(r.text.contains("Спасибо, что написали") && r.text.contains("Вашему"), "{:?}", r.text);
    // Someone else's deed keeps its verb.
    let r = rewrite("спасибо, что Маша помогла", &ctx(Some(false)));
    assert!(r.text.contains("Маша помогла"), "{:?}", r.text);
}

#[test]
fn review4_an_email_signature_under_the_separator_gets_no_full_stop() {
    let c = Context { profile: Some("email".into()), ..named("Сергей", Some(true), 0) };
    let draft = "Здравствуйте, Сергей!\nПришлите до 30.09 иначе заявка №5512 будет закрыта.\n--\nтехподдержка";
    let r = rewrite(draft, &c);
    assert!(r.text.ends_with("--\nТехподдержка"), "{:?}", r.text);
    assert!(r.text.contains("30.09, иначе"), "{:?}", r.text);
}

#[test]
fn review4_a_lower_case_name_after_the_greeting_is_the_address() {
    let r = rewrite("привет анна щас посмотрю заказ 458812", &named("Анна", Some(true), 0));
    assert!(r.text.starts_with("Здравствуйте, Анна! Сейчас посмотрю заказ 458812"), "{:?}", r.text);
}

#[test]
fn review4_the_operator_introduces_themself_by_the_full_name() {
    let c = Context { operator_name: Some("Мария".into()), ..named("Дмитрий", Some(true), 0) };
    let r = rewrite("здрасьте, меня зовут Маша, чем могу помочь?", &c);
    assert!(r.text.contains("меня зовут Мария") || r.text.contains("Меня зовут Мария"), "{:?}", r.text);
}

#[test]
fn review4_it_jargon_gets_plain_words() {
    let draft = "почистите куки и релогнитесь, если баг останется скиньте скрин, зарепорчу девам";
    let r = rewrite(draft, &ctx(Some(false)));
    for jargon in ["релогнитесь", "зарепорчу", "девам", "скрин"] {
        assert!(!has_word(&r.text, jargon), "{jargon} in {:?}", r.text);
    }
    assert!(has_word(&r.text, "разработчикам"), "{:?}", r.text);
}

#[test]
fn review4_a_subject_pronoun_after_a_finished_clause_starts_a_sentence() {
    let r = rewrite("щас посмотрю заказ 458812 он у курьера будет сегодня до 18:00", &ctx(Some(false)));
    assert!(r.text.contains("заказ 458812. Он у курьера"), "{:?}", r.text);
    let r = rewrite("к 15:00 он будет у вас", &ctx(Some(false)));
    assert!(r.text.contains("15:00 он будет"), "{:?}", r.text);
}

#[test]
fn review4_a_formal_greeting_run_into_the_sentence_becomes_its_own_and_ends_with_an_exclamation() {
    let c = named("Анна", Some(true), 0);
    assert_eq!(rewrite("здравствуйте, анна, ваш заказ готов", &c).text, "Здравствуйте, Анна! Ваш заказ готов.");
    assert_eq!(rewrite("привет анна", &c).text, "Здравствуйте, Анна!");
    // Without a comma or the name the greeting may govern the words after it.
    assert_eq!(rewrite("Добрый день всем", &ctx(Some(true))).text, "Добрый день всем.");
}

// A fifth fresh-eyes review (20 drafts on this session's final binary).

#[test]
fn review5_a_draft_that_already_says_it_will_find_out_gets_no_second_wording() {
    let r =
        rewrite("я не знаю почему списалось 1 490 руб дважды, надо уточнить у бухов", &named("Марина", Some(false), 1));
    assert_eq!(r.text.matches("уточнить").count(), 1, "{:?}", r.text);
    assert!(r.text.contains("1 490 руб"), "{:?}", r.text);
}

#[test]
fn review5_an_inline_numbered_list_is_not_numbered_again() {
    let draft =
        "чтобы сбросить пароль сделай так: 1. зайди на https://lk.example.ru/reset 2. введи свой емейл 3. нажми кнопку";
    let r = rewrite(draft, &named("Павел", Some(false), 1));
    for n in ["1.", "2.", "3."] {
        assert_eq!(r.text.matches(n).count(), 1, "{n} in {:?}", r.text);
    }
}

// Issue 18: rude drafts are caught, never «politely» decorated.

fn rudeness(text: &str) -> Vec<(String, sufler::style::Severity)> {
    let report = engine().check(text, &Context::default(), None).expect("check runs");
    let span = |start: usize, end: usize| text.chars().skip(start).take(end - start).collect::<String>();
    report.issues.into_iter().filter(|i| i.rule == "no-rudeness").map(|i| (span(i.start, i.end), i.severity)).collect()
}

fn refused(r: &Rewrite) -> bool {
    r.withheld.iter().any(|e| e.rule == "no-rudeness" && e.after.is_empty())
}

#[test]
fn issue18_an_obscene_imperative_is_refused_not_decorated() {
    let draft = "вали на хуй ты уебок";
    let found: Vec<String> = rudeness(draft).into_iter().map(|(s, _)| s).collect();
    assert_eq!(found, ["хуй", "уебок"]);
    let report = engine().check(draft, &Context::default(), None).unwrap();
    assert!(!report.issues.iter().any(|i| i.rule == "spelling"), "an obscene word is no typo: {:?}", report.issues);
    let r = rewrite(draft, &ctx(None));
    assert_eq!(r.text, draft);
    assert!(r.edits.is_empty() && refused(&r), "{r:?}");
    assert!(r.withheld[0].reason.contains("перепишите его своими словами"), "{:?}", r.withheld);
}

#[test]
fn issue18_an_insult_is_an_error_and_the_draft_is_refused() {
    let draft = "блин, задолбали уже, вы что дебилы";
    let found = rudeness(draft);
    assert!(found.contains(&("дебилы".to_string(), sufler::style::Severity::Error)), "{found:?}");
    assert!(refused(&rewrite(draft, &ctx(None))));
}

#[test]
fn issue18_a_pure_intensifier_is_deleted_and_the_rest_rewritten() {
    let r = rewrite("блин, опять сервер лёг, подождите минут 10", &ctx(None));
    assert!(!refused(&r) && !r.text.to_lowercase().contains("блин"), "{:?}", r.text);
    assert!(r.text.contains("10"), "{:?}", r.text);
    // «Блины» in a food order are no interjection.
    assert_eq!(rudeness("Блины с мясом привезём к 14:00."), []);
}

/// The rudeness set, both splits (eval/sets/rude/README.md).
fn rude_set() -> Vec<(String, serde_json::Value)> {
    ["rude-dev", "rude-holdout"]
        .iter()
        .flat_map(|split| {
            let path = format!("{}/eval/sets/rude/{split}.jsonl", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).expect("the rudeness set is in the repository");
            text.lines().map(|l| (split.to_string(), serde_json::from_str(l).unwrap())).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn issue18_real_words_that_contain_the_roots_stay_clean() {
    // ≥ 300 distinct look-alike words («застрахуйте», «команда», «рубля», «употреблять»…) in
    // their sentences; the held-out split is never tuned on, so it may have a few.
    let cases = rude_set();
    let mut words = std::collections::BTreeSet::new();
    for split in ["rude-dev", "rude-holdout"] {
        let (mut lines, mut alarms) = (0, Vec::new());
        for (_, case) in cases.iter().filter(|(s, c)| s == split && c["category"] == "trap") {
            lines += 1;
            let text = case["text"].as_str().unwrap();
            let spans: Vec<&str> = case["spans"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
            words.extend(spans.iter().map(|s| s.to_lowercase()));
            if !rudeness(text).is_empty() {
                alarms.push(text.to_string());
            }
        }
        let rate = alarms.len() as f64 / lines as f64;
        assert!(rate <= 0.02, "{split}: {} of {lines} look-alike lines flagged: {alarms:#?}", alarms.len());
        if split == "rude-dev" {
            assert!(alarms.is_empty(), "the tuned split has no false alarm: {alarms:#?}");
        }
    }
    assert!(words.len() >= 300, "{} look-alike words", words.len());
}

#[test]
fn issue18_a_caught_rude_draft_is_never_decorated() {
    // Every rude draft of the set that A10 reports: the rewrite is refused whole, or deletes
    // the rude words; it never adds «пожалуйста» next to one. (Every other draft of the set is
    // checked in the check tests above and by `sufler eval rudeness`.)
    let mut faults = Vec::new();
    for (_, case) in rude_set().iter().filter(|(_, c)| c["rude"] == true).step_by(3) {
        let text = case["text"].as_str().unwrap();
        if rudeness(text).is_empty() {
            continue;
        }
        let r = engine().rewrite(text, &Context::default(), None).unwrap();
        if refused(&r) {
            assert_eq!(r.text, text);
            continue;
        }
        let lower = r.text.to_lowercase();
        let left: Vec<&str> = case["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .filter(|s| lower.contains(&s.to_lowercase()))
            .collect();
        if !left.is_empty() {
            faults.push(format!("{text:?} → {:?}: {left:?} left", r.text));
        }
    }
    assert!(faults.is_empty(), "{faults:#?}");
}

// A sixth fresh-eyes review (24 drafts, 6 of them rude and 6 with look-alike words).

#[test]
fn review6_a_surname_inside_a_sentence_is_no_swear_word() {
    let draft = "Ваш персональный менеджер — Олег Сукачёв, а курьер Борис Ебзеев привезёт документы завтра до 12:00.";
    assert_eq!(rudeness(draft), []);
}

#[test]
fn review6_an_interjection_keeps_its_comma_when_blin_goes() {
    let r =
        rewrite("Ой, блин, извините, пожалуйста, я перепутала номер заказа — правильный 778-12.", &ctx(Some(false)));
    assert!(r.text.starts_with("Ой, извините, пожалуйста, я перепутала"), "{:?}", r.text);
}

#[test]
fn review6_contempt_and_latin_letters_are_caught() {
    let contempt = "Ну конечно, у вас всегда кто-то другой виноват. Может, сначала мозг включите, а потом пишите?";
    assert!(refused(&rewrite(contempt, &ctx(Some(false)))));
    let found: Vec<String> =
        rudeness("ну ты и дeбил, три раза объяснял, пиzдец просто").into_iter().map(|(s, _)| s).collect();
    assert_eq!(found, ["дeбил", "пиzдец"]);
}

#[test]
fn review7_a_verb_in_an_if_or_when_clause_gets_no_softener() {
    // «Если продолжите, пожалуйста, писать…» asked for what the draft warns against.
    for draft in [
        "Если оплатите заказ до пятницы, доставка будет бесплатной.",
        "Если продолжите писать в таком тоне, диалог будет завершён.",
        "Когда получите код, назовите его оператору.",
    ] {
        let r = rewrite(draft, &ctx(Some(false)));
        let head = r.text.split(',').next().unwrap();
        assert!(!r.text.contains("оплатите, пожалуйста") && !r.text.contains("продолжите, пожалуйста"), "{:?}", r.text);
        assert!(!head.contains("получите, пожалуйста"), "{:?}", r.text);
    }
    // A request after the clause still gets one.
    let r = rewrite("Когда получите код, назовите его оператору.", &ctx(Some(false)));
    assert!(r.text.contains("назовите, пожалуйста,"), "{:?}", r.text);
}

#[test]
fn review7_a_rude_sentence_is_not_offered_a_softener() {
    for draft in ["Заткнитесь и ждите курьера.", "Пришлите фото чека, идиот."]
    {
        let rules = rules_of(draft, &ctx(Some(false)));
        assert!(
            rules.contains(&"no-rudeness".to_string()) && !rules.contains(&"softener".to_string()),
            "{draft}: {rules:?}"
        );
    }
    // A mild word alone does not stop it: «блин» goes, the request is softened.
    let r = rewrite("Блин, пришлите фото чека.", &ctx(Some(false)));
    assert!(r.text.contains("пожалуйста"), "{:?}", r.text);
}

#[test]
fn review7_kidaj_asks_to_send_and_is_put_formally() {
    let r = rewrite("Да без проблем, ща всё порешаем, кидай номер договора", &ctx(Some(false)));
    assert!(r.text.contains("пришлите, пожалуйста, номер договора") && !r.text.contains("кида"), "{:?}", r.text);
    // «кинул посылку» is no request and keeps its verb.
    let r = rewrite("Курьер кинул посылку у двери.", &ctx(Some(false)));
    assert!(r.text.contains("кинул"), "{:?}", r.text);
}

/// Review 8: a surname beside a first name is no rude word; a rude sentence keeps the whole
/// draft from being softened; an insult's message is two sentences.
#[test]
fn review8_surnames_beside_a_name_and_no_softener_anywhere_in_a_rude_draft() {
    for draft in [
        "Ваш заказ передан курьеру Козлову Сергею, договор оформлен на Хренова Ивана Петровича.",
        "Переводчик договора — Сукин Павел, нотариус — Хренов Олег.",
    ] {
        let rules = rules_of(draft, &ctx(Some(false)));
        assert!(!rules.contains(&"no-rudeness".to_string()), "{draft}: {rules:?}");
    }
    // Without a first name beside it, the listed word still counts.
    assert!(rules_of("Сукин сын, где деньги?", &ctx(Some(false))).contains(&"no-rudeness".to_string()));
    let draft = "Бл*, да сколько можно. Номер заказа 458123, смотрите сами в личном кабинете.";
    let rules = rules_of(draft, &ctx(Some(false)));
    assert!(rules.contains(&"no-rudeness".to_string()) && !rules.contains(&"softener".to_string()), "{rules:?}");
    let report = engine().check("Вы идиот?", &ctx(Some(false)), None).unwrap();
    let insult = report.issues.iter().find(|i| i.rule == "no-rudeness").unwrap();
    assert!(insult.message.contains("ни в какой форме. Пожалуйста,"), "{}", insult.message);
}

/// Review 9: sarcasm and contempt without a rude word are caught; a rude draft gets no courtesy
/// and no fix inside its rude words; a client's literal «сука» answered about «течка» is no
/// rudeness; a card game's «дурак» is no insult; initials do not end a sentence; a first name
/// after the greeting is an address.
#[test]
fn review9_sarcasm_courtesy_literal_senses_initials_and_the_greeting_address() {
    let rude = |draft: &str| rules_of(draft, &ctx(Some(false))).contains(&"no-rudeness".to_string());
    for draft in [
        "Читать научитесь? Там в смс всё написано, карта заблокирована за просрочку.",
        "Повторяю для тех кто в танке: оплата только картой.",
        "Может, вам стоит лучше воспитывать ребёнка. Знаем мы таких мамаш.",
        "Ты чё, самый умный? Нормально всё с машиной.",
    ] {
        assert!(rude(draft), "{draft}");
    }
    for draft in ["Самый умный сотрудник месяца — Олег.", "В приставке есть карточные игры: дурак, пьяница и покер."]
    {
        assert!(!rude(draft), "{draft}");
    }
    let report = engine()
        .check(
            "Слышь ты, ещё раз назовёшь нас мошенниками — пойдёшь лесом, вали",
            &named("Дмитрий", Some(false), 0),
            None,
        )
        .unwrap();
    let rules: Vec<&str> = report.issues.iter().map(|i| i.rule.as_str()).collect();
    assert!(rules.contains(&"no-rudeness"), "{rules:?}");
    for decoration in ["softener", "use-name"] {
        assert!(!rules.contains(&decoration), "{decoration}: {rules:?}");
    }
    assert!(report.issues.iter().all(|i| !i.replacements.iter().any(|r| r.contains("Слышьте"))), "{rules:?}");
    let dog = Context {
        client_messages: vec!["у меня сука течёт, что посоветуете?".into()],
        ..named("Ольга", Some(false), 0)
    };
    let draft = "Ольга, для суки в период течки есть защитные трусики, размер M — 690 руб.";
    assert!(!rules_of(draft, &dog).iter().any(|r| r == "rude-client" || r == "no-rudeness"));
    let r = rewrite(
        "напишите заявление на имя директора Смирновой О.В. и принесите в 214 каб. до пятницы",
        &ctx(Some(false)),
    );
    assert!(r.text.contains("О.В. и принесите") && r.text.contains("каб. до пятницы"), "{}", r.text);
    let report =
        engine().check("Добрый день, Сергей! Ваш мастер приедет завтра в 11:00.", &ctx(Some(true)), None).unwrap();
    assert!(report.issues.iter().all(|i| i.rule != "greeting"), "{:?}", report.issues);
}

/// Review 10: a surname before initials is no insult; condescension and sarcasm are caught;
/// «раб.» and «рук.» do not end a sentence.
#[test]
fn review10_surname_with_initials_condescension_and_more_abbreviations() {
    let rude = |draft: &str| rules_of(draft, &ctx(Some(false))).contains(&"no-rudeness".to_string());
    assert!(!rude("Ваш заказ везёт курьер Дураков А.С., тел. 8 903 111-22-33."));
    for draft in [
        "Я вам уже 3 раз объясняю: заказ 55120 отменён.",
        "Ну конечно, это мы виноваты, что вы не умеете читать договор.",
    ] {
        assert!(rude(draft), "{draft}");
    }
    assert!(!rude("Да, это мы виноваты, извините за задержку."));
    for (draft, kept) in [
        ("деньги вернутся на карту в течение 3 раб. дней", "раб. дней"),
        ("классный рук. просит связаться с ней до пятницы", "рук. просит"),
    ] {
        let r = rewrite(draft, &ctx(Some(false)));
        assert!(r.text.contains(kept), "{}", r.text);
    }
}

#[test]
fn review11_an_opening_name_without_a_comma_is_the_address_not_a_second_name() {
    for (name, draft, opening) in [
        (
            "Олег",
            "олег вы не переживайте деньги вернутся в течение 10 рабочих дней",
            "Здравствуйте, Олег! Вы не переживайте",
        ),
        ("Ирина", "ирина попробуйте переустановить приложение и зайти заново", "Здравствуйте, Ирина! Попробуйте"),
        // The colloquial vocative («Саш» from «Саша») is the name too, written out in full.
        ("Саша", "саш привет, посылка уже в пункте выдачи, код получения 4471", "Саша, здравствуйте! Посылка"),
    ] {
        let r = rewrite(draft, &named(name, Some(true), 0));
        assert!(r.text.starts_with(opening), "{draft:?} → {:?}", r.text);
        assert_eq!(r.text.matches(name).count(), 1, "{:?}", r.text);
    }
}

#[test]
fn review11_a_surname_after_the_word_familiya_and_no_adverb_before_a_noun() {
    let rude = |draft: &str| rules_of(draft, &ctx(Some(false))).contains(&"no-rudeness".to_string());
    assert!(!rude("Проверил: билет оформлен верно, фамилия Дураков указана как в паспорте."));
    assert!(rude("Проверил: билет оформлен верно, а вы дураков из нас не делайте."));
    // «норм срок» is not «нормально срок»; «всё норм» is «всё нормально».
    let r = rewrite("Вы не переживайте, это норм срок, а у нас всё норм.", &ctx(Some(false)));
    assert!(!r.text.contains("нормально срок") && r.text.ends_with("всё нормально."), "{}", r.text);
}

#[test]
fn review12_a_brush_off_is_refused_not_decorated() {
    let rude = |draft: &str| rules_of(draft, &ctx(Some(false))).contains(&"no-rudeness".to_string());
    for draft in ["не знаю не моя проблема пишите в банк", "Это не наша проблема, обращайтесь к продавцу."]
    {
        assert!(rude(draft), "{draft}");
    }
    assert!(!rude("Проблема не на нашей стороне: платёж 4821 отклонил банк, напишите, пожалуйста, в его поддержку."));
}

#[test]
fn review14_sam_after_a_ty_imperative_is_the_addressee() {
    for (draft, expected) in [
        ("ссылка на отслеживание https://shop.ru/track?id=77812 посмотри сам", "сами"),
        ("если надо позвони курьеру сам или отмени заказ", "сами"),
    ] {
        let out = rewrite(draft, &ctx(Some(false))).text;
        assert!(has_word(&out, expected) && !has_word(&out, "сам"), "{draft} → {out}");
    }
    // The operator about himself, and «сама» before its noun, stay as they are.
    for draft in ["я сам посмотрю", "сама идея хорошая"] {
        let out = rewrite(draft, &ctx(Some(false))).text;
        assert!(!has_word(&out, "сами"), "{draft} → {out}");
    }
}

#[test]
fn review15_being_at_a_loss_typos_and_question_tails() {
    // «не знаю, что сказать» is no question to look into: no «уточнить, что Вам сказать».
    for draft in ["Слушай ну я не знаю что тебе сказать", "ну не знаю, что вам ответить, ждите"]
    {
        let out = rewrite(draft, &ctx(Some(false))).text;
        assert!(
            out.contains("уточнить информацию") && !out.contains("сказать") && !out.contains("ответить,"),
            "{draft} → {out}"
        );
    }
    // Listed misspellings are fixed outright, an acronym in capitals.
    let out = rewrite("Извените, доставка в течении 3 раб дней через сдэк", &ctx(Some(false))).text;
    assert!(out.starts_with("Извините") && out.contains("в течение 3 рабочих дней через СДЭК"), "{out}");
    // A sentence ending «или нет» asks.
    let out = rewrite("ты заказ оформил или нет", &ctx(Some(false))).text;
    assert!(out.ends_with("или нет?"), "{out}");
    // «автоматом» and «блин» are slang.
    let out = rewrite("блин, второй платёж вернется автоматом до 20 апреля", &ctx(Some(false))).text;
    assert!(out.contains("автоматически") && !out.to_lowercase().contains("блин"), "{out}");
    // Reproaches and sending the client away are contempt, not tidied up.
    for draft in
        ["СКОЛЬКО МОЖНО СПРАШИВАТЬ!!! я вам уже три раза написала", "ну и идите к конкурентам раз вам не нравится"]
    {
        assert!(rules_of(draft, &ctx(Some(false))).contains(&"no-rudeness".to_string()), "{draft}");
    }
}

/// Review 15's remaining drafts: yes/no questions that can only ask, a curt refusal, «потому что».
#[test]
fn review15_refusals_with_regret_whole_questions_and_because() {
    // A refusal opens with regret; a closing «Всё.» goes.
    let out = rewrite("Нет. Компенсацию не даём. Всё.", &ctx(Some(false))).text;
    assert!(out.starts_with("К сожалению, нет.") && !out.contains("Всё"), "{out}");
    let out = rewrite("Старым клиентам скидка не положена", &ctx(Some(false))).text;
    assert!(out.starts_with("К сожалению, старым клиентам"), "{out}");
    // A refusal already regretted, a condition and a promise are left alone.
    for draft in [
        "Извините, изменить адрес уже не получится: заказ у курьера.",
        "Без подписанного договора мы не можем запустить отгрузку.",
        "Мы не будем списывать деньги повторно.",
    ] {
        assert!(!rules_of(draft, &ctx(Some(false))).contains(&"regret".to_string()), "{draft}");
    }
    // A sentence that can only ask gets «?».
    for (draft, end) in [("вопросы есть", "Вопросы есть?"), ("вам так удобно", "Вам так удобно?")]
    {
        let out = rewrite(draft, &ctx(Some(false))).text;
        assert!(out.ends_with(end), "{draft} → {out}");
    }
    // «потому что» opening a clause takes a comma.
    let out = rewrite("Мы не можем вернуть деньги потому что срок прошел", &ctx(Some(false))).text;
    assert!(out.contains("деньги, потому что"), "{out}");
}

/// Review 16 (a helper's 30 drafts, judged as a Russian editor): an address that opens with
/// «Уважаемый», agreement across a subordinate clause without its comma, brush-offs, questions
/// that offer or ask before a condition, introductory commas, trailing apologies and «ок».
#[test]
fn review16_addresses_agreement_brush_offs_and_questions() {
    let out = rewrite("Уважаемый клиент, Ваша заявка № 2024-118 принята.", &ctx(Some(true))).text;
    assert!(out.starts_with("Уважаемый клиент, Ваша заявка № 2024-118 принята"), "{out}");
    // «отменён» agrees with «заказ», not with «вы».
    let out = rewrite("вы уверены что заказ отменён", &ctx(Some(false))).text;
    assert!(out.contains("заказ отменён"), "{out}");
    for draft in [
        "так а что вы хотите от меня? я просто оператор",
        "ВЫ ЧТО НЕ ВИДИТЕ ЧТО ЗАКАЗ УЖЕ ОТМЕНЁН!!!",
        "не надо так со мной, я вам не робот",
    ] {
        assert!(rules_of(draft, &ctx(Some(false))).contains(&"no-rudeness".to_string()), "{draft}");
    }
    for (draft, end) in [
        ("вам удобно если курьер приедет завтра утром", "утром?"),
        ("тариф поменяем с 1 числа, абонентская плата 450 ₽, подключить", "подключить?"),
    ] {
        let out = rewrite(draft, &ctx(Some(false))).text;
        assert!(out.ends_with(end), "{draft} → {out}");
    }
    let out = rewrite("к сожалению вернуть деньги не получится", &ctx(Some(false))).text;
    assert!(out.starts_with("К сожалению, вернуть"), "{out}");
    let out = rewrite("промокод не действует на товары со скидкой сорри", &ctx(Some(false))).text;
    assert!(out.contains("со скидкой, извините"), "{out}");
    let out = rewrite("он уже едет ок", &ctx(Some(false))).text;
    assert!(!out.contains("хорошо") && out.contains("едет"), "{out}");
    // A run-on after a number: «вы» with its own predicate opens a sentence, «вы или …» does not.
    let out = rewrite("курьер звонил вам 2 раза вы не брали трубку", &ctx(Some(false))).text;
    assert!(out.contains("2 раза. Вы не брали"), "{out}");
    let out = rewrite("Можно забрать заказ вы или ваш представитель", &ctx(Some(false))).text;
    assert!(out.contains("заказ Вы или Ваш"), "{out}");
}

/// Review 17 (20 hurried drafts judged as an editor): regret is not put before a request whose
/// «не смогу» depends on a condition, «нет» that opens a refusal keeps its place, and «вы что
/// издеваетесь» is contempt.
#[test]
fn review17_regret_around_conditions_and_a_leading_no() {
    let good = "Здравствуйте! Уточните, пожалуйста, номер договора — без него я не смогу проверить начисления за март.";
    assert_eq!(rewrite(good, &ctx(Some(false))).text, good);
    let out = rewrite("нет вернуть деньги нельзя", &ctx(Some(false))).text;
    assert!(out.starts_with("Нет, к сожалению, вернуть деньги нельзя"), "{out}");
    let draft = "вы чё издеваетесь я вам уже третий раз пишу одно и тоже";
    assert!(rules_of(draft, &ctx(Some(false))).contains(&"no-rudeness".to_string()), "{draft}");
}
