#!/usr/bin/env python3
"""Writes a synthetic dialogue log for `sufler audit` (JSONL, one message a line).

Each line is {"dialogue","role","operator"?,"ts","text","client_name"?}. Dialogues are
interleaved in time order, as a real support log is: many dialogues are open at once and each
one's messages are spread over minutes. Operators have styles — `good` (formal, uses the
client's name 2–3 times, answers every question in time), `sloppy` (informal «ты», slang,
late), `rude` (CAPS, «!!!», «я не знаю»), `name` (uses the name in every message) and `slow`
(polite but misses the reply deadline and skips questions) — so the audit's per-operator
figures differ in known directions.

The output is streamed and seeded: the same --seed gives the same file; memory does not grow
with --bytes. `--bad-lines RATE` mixes in malformed lines (not JSON, missing fields, unknown
roles, times going back) so the audit's warnings are exercised on the same run.

    python3 eval/gen_dialogue_log.py --bytes 1G --out target/audit-1g.jsonl --seed 7
"""

import argparse
import heapq
import json
import random
import sys
from datetime import datetime, timedelta, timezone

NAMES = ["Анна", "Мария", "Ольга", "Елена", "Ирина", "Наталья", "Сергей", "Андрей",
         "Дмитрий", "Алексей", "Игорь", "Павел", "Татьяна", "Юлия", "Михаил", "Евгений"]

QUESTIONS = [
    "Когда придёт мой заказ {order}?",
    "Можно ли вернуть товар без чека?",
    "Почему с карты списали деньги дважды?",
    "Как изменить адрес доставки?",
    "Сколько стоит доставка в Казань?",
    "Где посмотреть статус возврата?",
    "Можно ли оплатить заказ при получении?",
    "Работает ли пункт выдачи в воскресенье?",
]

CLIENT_OPENERS = ["Здравствуйте!", "Добрый день.", "Привет", "Здравствуйте, у меня вопрос."]
CLIENT_CLOSERS = ["Спасибо, всё понятно.", "Хорошо, жду.", "Понял, спасибо!", "Ок"]

ANSWERS = [
    "заказ {order} передан в доставку и придёт 12 декабря.",
    "вернуть товар можно в течение 14 дней, чек не обязателен.",
    "второе списание — это блокировка, она снимется в течение 3 дней.",
    "адрес доставки можно изменить в личном кабинете, в разделе «Заказы».",
    "доставка в Казань стоит 350 рублей.",
    "статус возврата виден в разделе «Возвраты» личного кабинета.",
    "оплатить заказ при получении можно картой или наличными.",
    "пункт выдачи работает в воскресенье с 10:00 до 18:00.",
]

# Per style: how the operator greets, answers, closes; how often it uses the name; its reply
# delay range (seconds) and the chance to skip a question.
STYLES = {
    "good": dict(greet="Здравствуйте, {name}! Спасибо за обращение.",
                 answer="{name}, {answer}",
                 plain="Подскажите, пожалуйста, номер заказа, чтобы я проверил.",
                 close="Если появятся вопросы, пожалуйста, пишите. Хорошего дня!",
                 name_every=False, delay=(10, 55), skip=0.0),
    "sloppy": dict(greet="привет) щас гляну",
                   answer="короче, {answer} норм?",
                   plain="ща, погоди, ты номер заказа скинь",
                   close="ну всё, давай, пиши если чё",
                   name_every=False, delay=(40, 300), skip=0.2),
    "rude": dict(greet="ЧТО У ВАС???",
                 answer="Я не знаю. Читайте правила!!! {answer}",
                 plain="Я ЖЕ СКАЗАЛ, НОМЕР ЗАКАЗА!!!",
                 close="Всё.",
                 name_every=False, delay=(5, 120), skip=0.3),
    "name": dict(greet="Здравствуйте, {name}! {name}, спасибо за обращение.",
                 answer="{name}, {answer}",
                 plain="{name}, подскажите, пожалуйста, номер заказа.",
                 close="{name}, всего доброго, {name}!",
                 name_every=True, delay=(10, 50), skip=0.0),
    "slow": dict(greet="Здравствуйте! Благодарим за ожидание.",
                 answer="Сообщаем, что {answer}",
                 plain="Уточните, пожалуйста, номер заказа.",
                 close="Всего доброго.",
                 name_every=False, delay=(600, 5400), skip=0.5),
}

OPERATORS = [("op-anna", "good"), ("op-boris", "sloppy"), ("op-vera", "rude"),
             ("op-gleb", "name"), ("op-dina", "slow"), ("op-egor", "good"),
             ("op-zoya", "good"), ("op-ilya", "sloppy")]

BAD_LINES = [
    "{not json",
    '["a", "list"]',
    '{"role":"client","ts":"2026-11-02T10:00:00Z","text":"нет id диалога"}',
    '{"dialogue":"x-bad","role":"bot","text":"неизвестная роль"}',
    '{"dialogue":"x-bad","role":"client","text":""}',
    '{"dialogue":"x-bad","role":"client","ts":"вчера","text":"время не распознано"}',
]


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper()
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def dialogue_messages(rng, number, start):
    """One dialogue as (ts, line dict) in time order."""
    operator, style_name = rng.choice(OPERATORS)
    style = STYLES[style_name]
    name = rng.choice(NAMES)
    order = f"{rng.randint(100000, 999999)}"
    dialogue = f"d{number:09d}"
    t = start
    out = []

    def client(text):
        nonlocal t
        out.append((t, {"dialogue": dialogue, "role": "client", "ts": stamp(t), "text": text,
                        "client_name": name}))

    def reply(text):
        nonlocal t
        t += timedelta(seconds=rng.uniform(*style["delay"]))
        if style["name_every"] and "{name}" not in text:
            text = "{name}, " + text[0].lower() + text[1:]
        out.append((t, {"dialogue": dialogue, "role": "operator", "operator": operator,
                        "ts": stamp(t), "text": text.format(name=name, order=order)}))

    picked = rng.sample(range(len(QUESTIONS)), rng.randint(1, 3))
    first = picked[0]
    client(f"{rng.choice(CLIENT_OPENERS)} {QUESTIONS[first].format(order=order)}")
    reply(style["greet"] + " " + style["answer"].format(
        name="{name}", answer=ANSWERS[first].format(order=order)))
    for q in picked[1:]:
        t += timedelta(seconds=rng.uniform(20, 240))
        client(QUESTIONS[q].format(order=order))
        if rng.random() < style["skip"]:
            reply(style["plain"])
        else:
            reply(style["answer"].format(name="{name}", answer=ANSWERS[q].format(order=order)))
    t += timedelta(seconds=rng.uniform(20, 200))
    client(rng.choice(CLIENT_CLOSERS))
    if rng.random() < 0.8:
        reply(style["close"])
    if rng.random() < 0.05:
        # The client asks again after the operator said goodbye and nobody answers (D2).
        t += timedelta(seconds=rng.uniform(30, 120))
        client("А ещё: " + QUESTIONS[rng.randrange(len(QUESTIONS))].format(order=order))
    return out


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bytes", default="10M", help="approximate size, e.g. 200M or 1G")
    parser.add_argument("--out", default="-", help="output path (- for stdout)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--bad-lines", type=float, default=0.001,
                        help="share of malformed lines mixed in")
    parser.add_argument("--rate", type=float, default=2.0,
                        help="new dialogues per second of log time")
    args = parser.parse_args()

    limit = parse_size(args.bytes)
    rng = random.Random(args.seed)
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    clock = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)
    # Pending messages of open dialogues, by time: a new dialogue starts every ~1/rate seconds
    # and its lines are emitted when the clock reaches them, so dialogues interleave.
    pending = []
    sequence = 0
    number = 0
    written = 0
    while written < limit:
        clock += timedelta(seconds=rng.expovariate(args.rate))
        for ts, line in dialogue_messages(rng, number, clock):
            heapq.heappush(pending, (ts, sequence, line))
            sequence += 1
        number += 1
        while pending and pending[0][0] <= clock and written < limit:
            _, _, line = heapq.heappop(pending)
            if rng.random() < args.bad_lines:
                bad = rng.choice(BAD_LINES)
                out.write(bad + "\n")
                written += len(bad.encode()) + 1
            if line["role"] == "operator" and rng.random() < args.bad_lines:
                # A clock that went back: the reply is stamped before the message it answers.
                line = dict(line, ts=stamp(datetime.fromisoformat(line["ts"].replace("Z", "+00:00"))
                                           - timedelta(hours=1)))
            text = json.dumps(line, ensure_ascii=False)
            out.write(text + "\n")
            written += len(text.encode()) + 1
    # Dialogues still open are cut at the size limit, as a log exported at some moment is.
    if out is not sys.stdout:
        out.close()
    print(f"{written} bytes, {number} dialogues", file=sys.stderr)


if __name__ == "__main__":
    main()
