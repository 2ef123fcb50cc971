#!/usr/bin/env python3
"""Generated (synthetic) incremental_book_L2 CSV for the derive memory benches. Not market data:
deterministic prices and amounts (seeded PRNG), written to stress the memory of book snapshot series.

  derive_book_gen.py instruments N_INST CHANGES_A CHANGES_B PER_SIDE OUT
    One file of N_INST instruments (deribit P0-PERPETUAL, P1-PERPETUAL, ...): a PER_SIDE-level
    snapshot per instrument (is_snapshot true rows, bids and asks), then CHANGES_A one-level changes,
    then CHANGES_B changes of PER_SIDE levels per side; each change has a new local_timestamp and the
    instruments take turns. Name OUT without a symbol (convert it with --data-type).
  derive_book_gen.py deep LEVELS CHANGES OUT
    One instrument (deribit BTC-PERPETUAL): a LEVELS-per-side snapshot, then CHANGES one-level
    updates at the top of the book. Name OUT as Tardis names the file.
  derive_book_gen.py far LEVELS CHANGES OUT
    One instrument (deribit BTC-PERPETUAL): a LEVELS-per-side snapshot, then CHANGES one-level
    changes of the bids that delete or put back a level, taking turns between one of the four
    best levels and one of the four worst (far-apart positions in the book, each change a new
    local_timestamp). Name OUT as Tardis names the file.
"""
import random
import sys

HEADER = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"
T0 = 1585785600000000  # 2020-04-02T00:00:00Z in microseconds


def instruments(n_inst, changes_a, changes_b, per_side, out):
    rnd = random.Random(1)
    t = T0
    with open(out, "w") as f:
        f.write(HEADER)
        w = f.write

        def rows(sym, snap, levels):
            nonlocal t
            t += 1000
            flag = "true" if snap else "false"
            w("".join(f"deribit,{sym},{t - 500},{t},{flag},{side},{price},{amount}\n" for side, price, amount in levels))

        syms = [f"P{i}-PERPETUAL" for i in range(n_inst)]
        for s in syms:
            rows(s, True, [("bid", 10000 - 0.5 * i, 1 + i % 7) for i in range(per_side)] +
                 [("ask", 10000.5 + 0.5 * i, 1 + i % 5) for i in range(per_side)])
        for _ in range(changes_a):
            for s in syms:
                side = rnd.choice(("bid", "ask"))
                i = rnd.randrange(per_side)
                price = 10000 - 0.5 * i if side == "bid" else 10000.5 + 0.5 * i
                rows(s, False, [(side, price, rnd.randrange(1, 100))])
        for _ in range(changes_b):
            for s in syms:
                base = rnd.randrange(1, 50)
                rows(s, False, [("bid", 10000 - 0.5 * i, base + i % 11) for i in range(per_side)] +
                     [("ask", 10000.5 + 0.5 * i, base + i % 13) for i in range(per_side)])


def deep(levels, changes, out):
    rnd = random.Random(2)
    t = T0
    with open(out, "w") as f:
        f.write(HEADER)
        t += 1000
        f.write("".join(f"deribit,BTC-PERPETUAL,{t - 500},{t},true,bid,{10000 - 0.5 * i},{1 + i % 7}\n"
                        for i in range(levels)))
        f.write("".join(f"deribit,BTC-PERPETUAL,{t - 500},{t},true,ask,{10000.5 + 0.5 * i},{1 + i % 5}\n"
                        for i in range(levels)))
        lines = []
        for _ in range(changes):
            t += 1000
            side = rnd.choice(("bid", "ask"))
            i = rnd.randrange(3)
            price = 10000 - 0.5 * i if side == "bid" else 10000.5 + 0.5 * i
            lines.append(f"deribit,BTC-PERPETUAL,{t - 500},{t},false,{side},{price},{rnd.randrange(1, 100)}\n")
        f.write("".join(lines))


def far(levels, changes, out):
    rnd = random.Random(3)
    t = T0
    with open(out, "w") as f:
        f.write(HEADER)
        t += 1000
        f.write("".join(f"deribit,BTC-PERPETUAL,{t - 500},{t},true,bid,{10000 - 0.5 * i},{1 + i % 7}\n"
                        for i in range(levels)))
        f.write("".join(f"deribit,BTC-PERPETUAL,{t - 500},{t},true,ask,{10000.5 + 0.5 * i},{1 + i % 5}\n"
                        for i in range(levels)))
        gone = set()
        lines = []
        for c in range(changes):
            t += 1000
            i = rnd.randrange(4) if c % 2 == 0 else levels - 1 - rnd.randrange(4)
            amount = 0 if i not in gone else 1 + i % 7
            gone.symmetric_difference_update({i})
            lines.append(f"deribit,BTC-PERPETUAL,{t - 500},{t},false,bid,{10000 - 0.5 * i},{amount}\n")
        f.write("".join(lines))


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) == 6 and a[0] == "instruments":
        instruments(int(a[1]), int(a[2]), int(a[3]), int(a[4]), a[5])
    elif len(a) == 4 and a[0] == "deep":
        deep(int(a[1]), int(a[2]), a[3])
    elif len(a) == 4 and a[0] == "far":
        far(int(a[1]), int(a[2]), a[3])
    else:
        sys.exit(__doc__)
