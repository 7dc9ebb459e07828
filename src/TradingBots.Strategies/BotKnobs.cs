namespace TradingBots.Strategies;

/// <summary>Knobs every bot has, whatever its strategy: how it runs and its paper account.</summary>
public static class BotKnobs
{
    public const string TickSeconds = "tick_seconds", MaxTicks = "max_ticks", StartingCash = "starting_cash", FeeRate = "fee_rate",
        FillModel = "fill_model", SlippageBps = "slippage_bps", ExchangeRules = "exchange_rules";

    public static IReadOnlyList<KnobSpec> All { get; } =
    [
        new(TickSeconds, KnobType.Integer, 5, 1, 86_400, "seconds between two ticks of the bot loop"),
        new(MaxTicks, KnobType.Integer, null, 1, 100_000_000, "the run completes after this many ticks (absent: it runs until stopped)"),
        new(StartingCash, KnobType.Decimal, null, 0.00000001m, 1_000_000_000_000m,
            "the paper account's starting cash, in its quote currency (absent: PAPER_STARTING_CASH); fixed at the first trade"),
        new(FeeRate, KnobType.Decimal, null, 0, 0.999999m, "fee rate of every fill (absent: PAPER_FEE_RATE, 0.001)"),
        new(FillModel, KnobType.Text, null, 0, 0, "the price a market order fills at: last (the ticker's last price; absent: last), bidask "
            + "(a buy at the best ask, a sell at the best bid) or book (the volume-weighted price of the order book levels it takes)",
            Choices: ["last", "bidask", "book"]),
        new(SlippageBps, KnobType.Decimal, null, 0, 1000, "basis points every fill's price moves against the order (absent: 0)"),
        new(ExchangeRules, KnobType.Boolean, 1, 0, 1, "orders obey the exchange's filters: quantity rounded down to its step, refused "
            + "under its minimum quantity or notional, fill price on its tick"),
    ];

    /// <summary>Seconds between two ticks of a bot with these (valid) knobs: what its lease's schedule is written from.</summary>
    public static int Tick(KnobValues knobs) => knobs.Integer(TickSeconds);
}
