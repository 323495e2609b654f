global using SpikeEngine;
global using Xunit;
