using System.Reflection;
using Aio.Testing;
using static Aio.Asyncio;

namespace Aio.Tests;

/// <summary><c>using static Aio.Asyncio;</c> must not hide a type that .NET's implicit usings bring in.</summary>
public sealed class FacadeNamesTests
{
    // The namespaces of the SDK's implicit usings for a console app or library (Microsoft.NET.Sdk).
    private static readonly string[] ImplicitNamespaces =
    [
        "System", "System.IO", "System.Collections.Generic", "System.Linq", "System.Net.Http",
        "System.Threading", "System.Threading.Tasks",
    ];

    [Fact]
    public void Facade_MemberNames_DoNotHideImplicitlyImportedTypes()
    {
        var typeNames = new HashSet<string>(StringComparer.Ordinal);
        Assembly[] assemblies =
        [
            typeof(object).Assembly, typeof(Enumerable).Assembly, typeof(HttpClient).Assembly,
            typeof(File).Assembly, typeof(Timer).Assembly, typeof(Parallel).Assembly, typeof(Console).Assembly,
        ];
        foreach (Type t in assemblies.SelectMany(a => a.GetExportedTypes()))
        {
            if (t.Namespace is { } ns && ImplicitNamespaces.Contains(ns) && !t.IsNested)
            {
                typeNames.Add(t.Name.Split('`')[0]);
            }
        }
        string[] clashes = typeof(Asyncio)
            .GetMembers(BindingFlags.Public | BindingFlags.Static)
            .Select(m => m.Name)
            .Where(typeNames.Contains)
            .Distinct()
            .ToArray();
        Assert.Empty(clashes);
    }

    [Fact]
    public void UsingStatic_LeavesThreadingTimeoutUsable()
    {
        // Compiles only while no facade member is named Timeout (CS0119 otherwise).
        Assert.Equal(-1, Timeout.Infinite);
        Assert.Equal(3, AioTest.Run(async () => await FailAfter(1, async () => { await Sleep(0.5); return 3; })));
    }
}
