"""OpenAI- and Anthropic-compatible test servers with latency, fault injection and counters."""

from synthgen.testing.servers.anthropic import AnthropicTestServer
from synthgen.testing.servers.base import Counters, Fault, TestServerBase
from synthgen.testing.servers.openai import OpenAITestServer

__all__ = ["AnthropicTestServer", "Counters", "Fault", "OpenAITestServer", "TestServerBase"]
