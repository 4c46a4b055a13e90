using System.CommandLine;

namespace Aio.Cli;

/// <summary>
/// <c>aio completion bash|zsh</c>: prints a shell completion script. The script asks the tool itself, through
/// System.CommandLine's <c>[suggest:POSITION]</c> directive, for the words that fit where the cursor is.
/// </summary>
internal static class CompletionCommand
{
    private const string Bash = """
        # aio completion for bash: eval "$(aio completion bash)"
        _aio_complete() {
            local IFS=$'\n'
            local line="${COMP_LINE#* }"
            local position=$(( COMP_POINT - (${#COMP_LINE} - ${#line}) ))
            COMPREPLY=( $(compgen -W "$(aio "[suggest:${position}]" "${line}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}") )
        }
        complete -o default -F _aio_complete aio
        """;

    private const string Zsh = """
        # aio completion for zsh: eval "$(aio completion zsh)"
        _aio_complete() {
            local line="${BUFFER#* }"
            local position=$(( CURSOR - (${#BUFFER} - ${#line}) ))
            local -a words
            words=("${(@f)$(aio "[suggest:${position}]" "${line}" 2>/dev/null)}")
            compadd -a words
        }
        compdef _aio_complete aio
        """;

    public static Command Create(CliContext ctx)
    {
        var shell = new Argument<string>("shell") { Description = "bash or zsh" };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        var command = new Command("completion", "Print a shell completion script (eval \"$(aio completion bash)\")") { shell };
        command.SetAction(parse =>
        {
            ctx.Out.WriteLine(parse.GetValue(shell) == "zsh" ? Zsh : Bash);
            return ExitCodes.Ok;
        });
        return command;
    }
}
