namespace SpikeEngine.Data;

/// <summary>
/// The one exception the data readers throw for a file whose content is not what its format
/// requires: a bad IDX magic number or dimension list, a CIFAR file whose length is not a whole
/// number of records, an undecodable image, label and image counts that disagree. The message
/// names the file, where in it the problem is (a byte offset or an entry) and what was expected.
/// </summary>
public sealed class DataFormatException : Exception
{
    public DataFormatException(
        string file,
        string location,
        string problem,
        Exception? inner = null
    )
        : base($"{file}: {location}: {problem}", inner)
    {
        File = file;
        Location = location;
        Problem = problem;
    }

    /// <summary>The file (or, for in-memory input, the name given to it) that is malformed.</summary>
    public string File { get; }

    /// <summary>Where in the file: "offset 16", "record 3", "entry 'cat/001.jpg'", "header".</summary>
    public string Location { get; }

    /// <summary>What was wrong, including what was expected.</summary>
    public string Problem { get; }
}
