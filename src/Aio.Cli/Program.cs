// The aio tool: see docs/aio-tool.md.
return Aio.Cli.AioCli.Invoke(args, Aio.Cli.CliContext.ForProcess());
