using System.Buffers.Binary;
using System.Text;

namespace Aio.Http.Tests.WebSockets;

/// <summary>A hand-driven WebSocket client over a TestConnection: builds masked frames byte by byte and reads the server's.</summary>
internal sealed class WsPeer(TestConnection connection)
{
    public const string Key = "dGhlIHNhbXBsZSBub25jZQ==";          // RFC 6455's sample key
    public const string Accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";   // and its accept value

    public TestConnection Connection { get; } = connection;

    public static string Handshake(string path = "/ws", params string[] extra) =>
        $"GET {path} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {Key}\r\nSec-WebSocket-Version: 13\r\n"
        + string.Concat(extra.Select(h => h + "\r\n")) + "\r\n";

    /// <summary>Connects, sends the handshake (and <paramref name="after"/> in the same chunk), reads the 101.</summary>
    public static async Task<WsPeer> OpenAsync(TestClient client, string path = "/ws", byte[]? after = null)
    {
        TestConnection c = client.Connect();
        byte[] head = Encoding.Latin1.GetBytes(Handshake(path));
        c.Send(after is null ? head : [.. head, .. after]);
        TestResponse r = await c.ReadResponseAsync();
        Assert.Equal(101, r.Status);
        return new WsPeer(c);
    }

    public static byte[] Frame(int opcode, byte[] payload, bool fin = true, bool mask = true, long? declaredLength = null)
    {
        long length = declaredLength ?? payload.Length;
        var b = new List<byte> { (byte)((fin ? 0x80 : 0) | opcode) };
        byte maskBit = mask ? (byte)0x80 : (byte)0;
        if (length < 126)
        {
            b.Add((byte)(maskBit | length));
        }
        else if (length <= ushort.MaxValue)
        {
            b.Add((byte)(maskBit | 126));
            b.Add((byte)(length >> 8));
            b.Add((byte)length);
        }
        else
        {
            b.Add((byte)(maskBit | 127));
            var ext = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(ext, length);
            b.AddRange(ext);
        }
        byte[] key = [0x37, 0xfa, 0x21, 0x3d];
        if (mask)
        {
            b.AddRange(key);
        }
        for (int i = 0; i < payload.Length; i++)
        {
            b.Add(mask ? (byte)(payload[i] ^ key[i % 4]) : payload[i]);
        }
        return b.ToArray();
    }

    public static byte[] Text(string text, bool fin = true) => Frame(1, Encoding.UTF8.GetBytes(text), fin);

    public static byte[] Close(int code, string reason = "")
    {
        byte[] r = Encoding.UTF8.GetBytes(reason);
        byte[] p = new byte[2 + r.Length];
        BinaryPrimitives.WriteUInt16BigEndian(p, (ushort)code);
        r.CopyTo(p, 2);
        return Frame(8, p);
    }

    public void Send(byte[] bytes) => Connection.Send(bytes);

    /// <summary>Reads one frame of the server (unmasked) and describes it: "text hello", "close 1009 reason", "ping ", "pong x".</summary>
    public async Task<string> ReadFrameAsync()
    {
        byte[] h = await Connection.ReadExactlyAsync(2);
        Assert.True((h[1] & 0x80) == 0, "A server frame must not be masked.");
        long len = h[1] & 0x7F;
        if (len == 126)
        {
            len = BinaryPrimitives.ReadUInt16BigEndian(await Connection.ReadExactlyAsync(2));
        }
        else if (len == 127)
        {
            len = BinaryPrimitives.ReadInt64BigEndian(await Connection.ReadExactlyAsync(8));
        }
        byte[] payload = await Connection.ReadExactlyAsync((int)len);
        string fin = (h[0] & 0x80) != 0 ? "" : " (more)";
        return (h[0] & 0x0F) switch
        {
            0 => "cont " + Encoding.UTF8.GetString(payload) + fin,
            1 => "text " + Encoding.UTF8.GetString(payload) + fin,
            2 => "binary " + string.Join(",", payload) + fin,
            8 => payload.Length >= 2 ? $"close {BinaryPrimitives.ReadUInt16BigEndian(payload)} {Encoding.UTF8.GetString(payload, 2, payload.Length - 2)}".TrimEnd() : "close",
            9 => "ping " + Encoding.UTF8.GetString(payload),
            10 => "pong " + Encoding.UTF8.GetString(payload),
            int op => $"opcode {op}",
        };
    }

    /// <summary>Reads frames until the server closes the connection.</summary>
    public async Task<List<string>> ReadAllAsync()
    {
        var frames = new List<string>();
        while (true)
        {
            try
            {
                frames.Add(await ReadFrameAsync());
            }
            catch (IOException)
            {
                return frames;
            }
        }
    }
}
