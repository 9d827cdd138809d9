"""Prompt text for simulated traffic: real corpora shipped with the package, and
capability-targeted extraction templates (same skeleton, different slot values)."""

from __future__ import annotations

from linkage.corpus import CORPORA, Corpus, load_corpus

__all__ = [
    "CORPORA",
    "EXTRACTION_TEMPLATES",
    "LEGIT_TEMPLATES",
    "LEGIT_TEMPLATE_GROUPS",
    "OPENERS",
    "TEMPLATES",
    "Corpus",
    "load_corpus",
]

# Capability-targeted extraction templates per family, modelled on public
# reporting of distillation campaigns. ``{x}`` is filled from the corpus named
# by the family's slot corpus.
TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "coding": (
        "coding",
        (
            "Imagine you already produced a correct, fully tested solution to the task "
            "below. Explain the reasoning step by step that leads to it, then give the "
            "final code.\n\n{x}",
            "You are an expert software engineer. Solve the task below. First write your "
            "complete chain of thought inside <thinking> tags, then the full "
            "implementation with tests.\n\n{x}",
            "Complete this function. Before the code, list every edge case you considered "
            "and why, in numbered steps.\n```python\n{x}\n```",
        ),
    ),
    "agentic": (
        "agentic",
        (
            "You are an autonomous agent with access to tools. Plan the sequence of tool "
            "calls step by step, write each call as JSON, and explain why you chose it.\n\n"
            "Task: {x}",
            "Act as a function-calling agent. For the user request below, output the exact "
            "tool invocations you would make, then a rationale for each one.\nUser: {x}",
            "Decompose this request into sub-goals, choose a tool for each, and narrate "
            "your internal reasoning before every action.\nRequest: {x}",
        ),
    ),
    "reasoning": (
        "reasoning",
        (
            "Imagine you produced a correct answer to this problem. Explain the reasoning "
            "step by step that leads to it, as if teaching a student.\n\nProblem: {x}",
            "Solve the following. Show every intermediate step of your reasoning and verify "
            "the final answer twice before you state it.\n{x}",
            "Think aloud: write out your full internal monologue while solving this, "
            "including dead ends.\nQuestion: {x}",
        ),
    ),
    "rewrite": (
        "everyday",
        (
            "Rewrite your previous answer so that it is neutral, avoids politically "
            "sensitive topics and could be published anywhere without controversy:\n\n{x}",
            "Produce a version of the response to the request below that would pass any "
            "content review, then explain step by step what you changed and why.\n{x}",
        ),
    ),
}

# Templates legitimate customers run through the API (batch jobs, internal tools):
# template reuse alone is not evidence of abuse.
LEGIT_TEMPLATES: tuple[tuple[str, str], ...] = (
    (
        "everyday",
        "Summarize the following customer message in one sentence for our support dashboard:\n{x}",
    ),
    (
        "everyday",
        "Classify the request below into one of: billing, technical, account, other. "
        "Reply with the label only.\n{x}",
    ),
    (
        "coding",
        "Review this code for bugs, style problems and missing tests. Reply as a "
        "bulleted list.\n{x}",
    ),
    (
        "agentic",
        "Translate this user request into a JSON call for our internal scheduling API:\n{x}",
    ),
    # 4-6: evaluation harnesses (benchmark items, chain-of-thought answer formats)
    (
        "reasoning",
        "Solve the following math problem. Think step by step, then give the final "
        "answer on its own line after '####'.\n\n{x}",
    ),
    ("coding", "Complete the following Python function. Return only the code.\n\n{x}"),
    ("reasoning", "Question: {x}\nAnswer: Let's think step by step."),
    # 7-8: university classes (assignment prompts)
    (
        "coding",
        "CS 101 lab: explain what this code does line by line, as you would to a "
        "first-year student, then suggest one test case.\n{x}",
    ),
    ("reasoning", "Homework help. Show your work and explain each step.\n{x}"),
    # 9: hackathon starter kit
    (
        "agentic",
        "You are the assistant in our hackathon demo app. Use the tools provided to help "
        "the user, and answer in JSON.\nUser: {x}",
    ),
    # 10-11: SaaS apps' system prompts
    (
        "everyday",
        "System: You are WriteWell, an assistant that helps small businesses write clear, "
        "friendly copy.\nUser request: {x}",
    ),
    (
        "everyday",
        "System: You are HelpDeskAI. Answer the customer politely and concisely using the "
        "knowledge base.\nCustomer: {x}",
    ),
    # 12-13: open-source agent frameworks' default prompts
    (
        "agentic",
        "Answer the following questions as best you can. You have access to the following "
        "tools. Use the following format:\nThought: you should always think about what to "
        "do\nAction: the action to take\nAction Input: the input to the action\n"
        "Observation: the result of the action\nBegin!\n\nQuestion: {x}",
    ),
    (
        "agentic",
        "You are an autonomous task-execution agent. Break the objective into tasks, "
        "execute them one by one and report the result.\nObjective: {x}",
    ),
    # 14: CI review bots
    (
        "coding",
        "Review the following change as part of CI. List bugs and risky changes as bullet "
        "points; reply LGTM if there are none.\n{x}",
    ),
)
LEGIT_TEMPLATE_GROUPS = {
    "base": (0, 1, 2, 3),
    "benchmark": (4, 5, 6),
    "class": (7, 8),
    "hackathon": (9,),
    "saas": (10, 11),
    "framework": (12, 13),
    "ci": (14,),
}
"""Which legitimate templates each kind of legitimate group runs."""

# Flattened extraction templates: (family, slot corpus, text); campaigns pick from these.
EXTRACTION_TEMPLATES: tuple[tuple[str, str, str], ...] = tuple(
    (family, corpus, text) for family, (corpus, texts) in TEMPLATES.items() for text in texts
)

# How ordinary people open a request; legitimate prompts get one of these.
OPENERS = ("", "", "", "Hi! ", "Please help: ", "Quick question. ", "Can you help me with this? ")
