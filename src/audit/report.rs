//! An audit as a [`Report`]: headline metrics (what `--compare` and `--fail-under` act on),
//! the per-operator table, per-rule rates, reply-time and name-use distributions, the tone mix,
//! the worst messages with sufler's rewrite and examples of unanswered questions.

use super::{Audit, OperatorStats, OTHER_OPERATORS, UNKNOWN_OPERATOR};
use crate::report::{Bar, CaseView, NamedValues, Report, Section};
use crate::tone::ToneLabel;

/// Operators shown in the rule × operator table and the tone plot (the most active ones).
const OPERATORS_PLOTTED: usize = 16;
/// Rules shown as columns of the rule × operator table (the most frequent ones).
const RULE_COLUMNS: usize = 8;
/// Reply-time buckets: upper bounds in seconds and their labels.
const REPLY_BUCKETS: [(u64, &str); 7] = [
    (60, "до 1 мин"),
    (300, "1–5 мин"),
    (900, "5–15 мин"),
    (3600, "15–60 мин"),
    (3 * 3600, "1–3 ч"),
    (24 * 3600, "3–24 ч"),
    (u64::MAX, "больше суток"),
];

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn per_100(part: u64, whole: u64) -> Option<f64> {
    share(part, whole).map(|s| s * 100.0)
}

/// «1 ч 5 мин», «45 с».
pub fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} с"),
        s if s < 3600 && s % 60 == 0 => format!("{} мин", s / 60),
        s if s < 3600 => format!("{} мин {} с", s / 60, s % 60),
        s if s % 3600 == 0 => format!("{} ч", s / 3600),
        s => format!("{} ч {} мин", s / 3600, s % 3600 / 60),
    }
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.digits$}"))
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.0} %", v * 100.0))
}

impl Audit {
    /// The report of the run; `input` names the log.
    pub fn to_report(&self, input: &str) -> Report {
        let all = self.overall();
        let mut r = Report::new("audit", "Аудит диалогов: стиль, имя клиента, сроки ответа, тон", input);
        let deadline = self.response_time;
        let push = |r: &mut Report, id: &str, label: &str, value: Option<f64>, higher: bool| {
            if let Some(v) = value {
                r.push_metric(id, label, v, higher);
            }
        };
        push(&mut r, "messages", "сообщений в журнале", Some(self.messages as f64), true);
        push(&mut r, "operator_messages", "сообщений операторов", Some(all.messages as f64), true);
        push(&mut r, "dialogues", "диалогов", Some(self.dialogues as f64), true);
        push(&mut r, "operators", "операторов", Some(self.operators.len() as f64), true);
        push(
            &mut r,
            "violations_per_100",
            "ошибок и недочётов на 100 сообщений операторов",
            per_100(all.errors + all.warnings, all.checked()),
            false,
        );
        push(&mut r, "errors_per_100", "ошибок на 100 сообщений операторов", per_100(all.errors, all.checked()), false);
        push(
            &mut r,
            "name_norm_share",
            "доля диалогов, где имя клиента названо 2–3 раза",
            share(all.names.in_norm(), all.names.dialogues()),
            true,
        );
        push(
            &mut r,
            "first_reply_median_s",
            "медиана первого ответа, с",
            all.first_reply.quantile(0.5).map(|s| s as f64),
            false,
        );
        if let Some(rt) = deadline {
            push(
                &mut r,
                "first_reply_in_time",
                &format!("доля первых ответов в срок ({})", duration(rt.target_secs)),
                share(all.first_reply.count() - all.first_reply.over(rt.target_secs), all.first_reply.count()),
                true,
            );
            push(
                &mut r,
                "replies_in_time",
                &format!("доля всех ответов в срок ({})", duration(rt.target_secs)),
                share(all.reply.count() - all.reply.over(rt.target_secs), all.reply.count()),
                true,
            );
        }
        push(
            &mut r,
            "reply_p90_s",
            "90-й процентиль времени ответа, с",
            all.reply.quantile(0.9).map(|s| s as f64),
            false,
        );
        push(
            &mut r,
            "unanswered_share",
            "доля вопросов клиентов без ответа",
            share(all.unanswered, all.questions),
            false,
        );
        if self.tone_scored {
            let scored = all.tone_scored();
            push(&mut r, "rude_share", "доля грубых сообщений", share(all.tone[3], scored), false);
            push(
                &mut r,
                "politeness_mean",
                "средняя вежливость (0–100)",
                share(1, scored).map(|s| s * all.politeness_sum),
                true,
            );
        }
        push(&mut r, "messages_per_sec", "скорость, сообщений в секунду", Some(self.throughput()), true);

        r.sections.push(self.operator_table());
        r.sections.push(Section::Bars {
            title: "Замечания на 100 сообщений операторов, по правилам".into(),
            x_label: "замечаний на 100 сообщений".into(),
            y_label: "правило".into(),
            bars: all
                .issues_by_rule
                .iter()
                .map(|(rule, &n)| Bar { label: rule.clone(), value: per_100(n, all.checked()).unwrap_or(0.0) })
                .collect(),
        });
        if let Some(table) = self.rule_by_operator(&all) {
            r.sections.push(table);
        }
        if self.tone_scored {
            r.sections.push(self.tone_plot(&all));
        }
        // Distributions keep their categories in order (bars are drawn largest first).
        r.sections.push(Section::GroupedBars {
            title: "Сколько ждали ответа".into(),
            y_label: "ответов".into(),
            categories: REPLY_BUCKETS.iter().map(|(_, label)| label.to_string()).collect(),
            series: vec![
                NamedValues {
                    name: "первый ответ в диалоге".into(), values: buckets(&all.first_reply)
                },
                NamedValues { name: "все ответы".into(), values: buckets(&all.reply) },
            ],
        });
        r.sections.push(Section::GroupedBars {
            title: "Сколько раз оператор назвал клиента по имени за диалог (норма 2–3)".into(),
            y_label: "диалогов".into(),
            categories: ["0", "1", "2", "3", "4", "5 и больше"].map(String::from).to_vec(),
            series: vec![NamedValues {
                name: "диалоги, где имя клиента известно".into(),
                values: all.names.dialogues_by_uses.iter().map(|&n| n as f64).collect(),
            }],
        });
        r.sections.push(Section::Cases {
            title: "Сообщения с наибольшим числом замечаний и вариант sufler".into(),
            cases: self
                .worst
                .iter()
                .map(|w| CaseView {
                    id: format!("строка {}", w.line),
                    summary: format!("оператор {}, диалог {}: замечаний {}", w.operator, w.dialogue, w.issues.len()),
                    before: w.text.clone(),
                    after: w.rewrite.clone(),
                    notes: w.issues.clone(),
                })
                .collect(),
        });
        r.sections.push(Section::Cases {
            title: "Вопросы клиентов без ответа (примеры)".into(),
            cases: self
                .unanswered
                .iter()
                .map(|u| CaseView {
                    id: format!("строка {}", u.line),
                    summary: match &u.reply {
                        Some(_) => format!("диалог {}: ответ не касается вопроса", u.dialogue),
                        None => format!("диалог {}: ответа не было", u.dialogue),
                    },
                    before: u.reply.clone().unwrap_or_else(|| u.question.clone()),
                    after: None,
                    notes: vec![u.question.clone()],
                })
                .collect(),
        });
        let mut notes = vec![
            vec!["профиль".to_string(), self.profile.clone()],
            vec![
                "срок ответа (E3)".into(),
                match deadline {
                    Some(rt) if rt.max_secs() > rt.target_secs => {
                        format!("{}, не позже {}", duration(rt.target_secs), duration(rt.max_secs()))
                    }
                    Some(rt) => duration(rt.target_secs),
                    None => "в профиле не задан".into(),
                },
            ],
            vec!["строк прочитано".into(), self.lines.to_string()],
            vec!["замечаний к журналу".into(), self.warnings.total().to_string()],
            vec!["одновременно открытых диалогов, наибольшее число".into(), self.peak_open_dialogues.to_string()],
            vec!["время работы".into(), format!("{:.1} с", self.seconds)],
        ];
        notes.extend(self.disabled.iter().map(|(rule, why)| vec![format!("правило {rule} не работало"), why.clone()]));
        if !self.tone_scored {
            notes.push(vec!["тон".into(), "не оценён: нужны модель и веса тона (sufler train-tone)".into()]);
        }
        notes.extend(self.warnings.counts().iter().map(|(kind, n)| vec![format!("замечание «{kind}»"), n.to_string()]));
        r.sections.push(Section::Table {
            title: "Об этом прогоне".into(),
            columns: vec!["что".into(), "значение".into()],
            rows: notes,
        });
        r
    }

    /// One row per operator with their headline figures.
    pub fn operator_table(&self) -> Section {
        let deadline = self.response_time.map(|rt| rt.target_secs);
        let mut columns: Vec<String> = [
            "оператор",
            "сообщений",
            "диалогов",
            "ошибок и недочётов на 100",
            "частые правила",
            "имя 2–3 раза",
            "первый ответ, медиана",
            "первых ответов позже срока",
            "вопросов без ответа",
        ]
        .map(String::from)
        .to_vec();
        if self.tone_scored {
            columns.extend(["грубых".to_string(), "вежливость".to_string()]);
        }
        let mut rows: Vec<Vec<String>> = self
            .operators
            .iter()
            .map(|(name, s)| {
                let mut top: Vec<(&String, &u64)> = s.issues_by_rule.iter().collect();
                top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let top: Vec<String> = top.iter().take(3).map(|(rule, n)| format!("{rule} {n}")).collect();
                let late = deadline.map(|d| s.first_reply.over(d));
                let mut row = vec![
                    name.clone(),
                    s.messages.to_string(),
                    s.dialogues.to_string(),
                    cell(per_100(s.errors + s.warnings, s.checked()), 1),
                    top.join(", "),
                    percent(share(s.names.in_norm(), s.names.dialogues())),
                    s.first_reply.quantile(0.5).map_or_else(|| "—".into(), duration),
                    match late {
                        Some(n) => format!("{n} из {}", s.first_reply.count()),
                        None => "—".into(),
                    },
                    format!("{} из {}", s.unanswered, s.questions),
                ];
                if self.tone_scored {
                    row.push(percent(share(s.tone[3], s.tone_scored())));
                    row.push(cell(share(1, s.tone_scored()).map(|x| x * s.politeness_sum), 0));
                }
                row
            })
            .collect();
        // Pools last, the real operators in id order.
        rows.sort_by_key(|row| row[0] == UNKNOWN_OPERATOR || row[0] == OTHER_OPERATORS);
        Section::Table { title: "По операторам".into(), columns, rows }
    }

    /// The most frequent rules per 100 messages of the most active operators.
    fn rule_by_operator(&self, all: &OperatorStats) -> Option<Section> {
        let mut rules: Vec<(&String, &u64)> = all.issues_by_rule.iter().collect();
        if rules.is_empty() {
            return None;
        }
        rules.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        rules.truncate(RULE_COLUMNS);
        let mut columns = vec!["оператор".to_string()];
        columns.extend(rules.iter().map(|(rule, _)| rule.to_string()));
        let rows =
            self.most_active()
                .into_iter()
                .map(|(name, s)| {
                    let mut row = vec![name.clone()];
                    row.extend(rules.iter().map(|(rule, _)| {
                        cell(per_100(s.issues_by_rule.get(*rule).copied().unwrap_or(0), s.checked()), 1)
                    }));
                    row
                })
                .collect();
        Some(Section::Table {
            title: format!(
                "Замечания на 100 сообщений: {RULE_COLUMNS} самых частых правил у самых активных операторов"
            ),
            columns,
            rows,
        })
    }

    fn tone_plot(&self, all: &OperatorStats) -> Section {
        let mut series = vec![NamedValues {
            name: "все".into(),
            values: all.tone.iter().map(|&n| share(n, all.tone_scored()).unwrap_or(0.0) * 100.0).collect(),
        }];
        series.extend(self.most_active().into_iter().take(6).map(|(name, s)| NamedValues {
            name: name.clone(),
            values: s.tone.iter().map(|&n| share(n, s.tone_scored()).unwrap_or(0.0) * 100.0).collect(),
        }));
        Section::GroupedBars {
            title: "Тон сообщений операторов, % (все и самые активные)".into(),
            y_label: "% сообщений".into(),
            categories: ToneLabel::ALL.iter().map(|l| l.russian().to_string()).collect(),
            series,
        }
    }

    /// Up to [`OPERATORS_PLOTTED`] operators with the most messages.
    fn most_active(&self) -> Vec<&(String, OperatorStats)> {
        let mut ops: Vec<&(String, OperatorStats)> = self.operators.iter().filter(|(_, s)| s.messages > 0).collect();
        ops.sort_by(|a, b| b.1.messages.cmp(&a.1.messages).then(a.0.cmp(&b.0)));
        ops.truncate(OPERATORS_PLOTTED);
        ops
    }
}

/// Counts of `d` in [`REPLY_BUCKETS`].
fn buckets(d: &super::Durations) -> Vec<f64> {
    let mut from = 0;
    REPLY_BUCKETS
        .iter()
        .map(|&(to, _)| {
            let n = d.between(from, to);
            from = to;
            n as f64
        })
        .collect()
}
