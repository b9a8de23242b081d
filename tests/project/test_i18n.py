"""The Chinese interface: the catalog covers every marked message, and zh speaks Chinese.

Messages are extracted with Babel exactly as ``make locale`` does (``babel.cfg``); a
message marked with ``_()``/``N_()`` that the catalog lacks, an empty translation, a
translation whose ``{placeholders}`` differ from its message, or a committed ``.mo`` that
is not the compiled ``.po`` fails here.
"""

from __future__ import annotations

import io
import json
import re
import string

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from click.testing import CliRunner
from support.paths import REPO

from zongheng.cli import main
from zongheng.compiler import i18n

PO = REPO / "locale" / "zh_CN" / "LC_MESSAGES" / "zongheng.po"
MO = PO.with_suffix(".mo")
MINIMAL = (REPO / "policies" / "minimal.zh").read_text("utf-8")
CJK = re.compile(r"[\u4e00-\u9fff]")


def extracted() -> set[str]:
    with open(REPO / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(REPO), method_map, options_map):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def catalog():
    with open(PO, "rb") as f:
        return read_po(f, locale="zh_CN")


def test_every_marked_message_is_in_the_catalog():
    ids = extracted()
    assert len(ids) > 50  # the extraction found the marked messages at all
    have = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog() if m.id}
    assert sorted(ids - have) == [], "run `make locale` and translate the new messages"


def fields(text: str) -> set[str]:
    return {f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None}


def test_every_translation_is_there_and_keeps_the_placeholders():
    for m in catalog():
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(strings), f"no translation for {ids[0]!r}"
        for s in strings:
            assert fields(s) == fields(ids[0]), (ids[0], s)


def test_the_committed_mo_is_the_compiled_po():
    buf = io.BytesIO()
    write_mo(buf, catalog())
    assert MO.read_bytes() == buf.getvalue(), "run `make locale`"


def test_language_from_the_environment():
    assert i18n.language_from_environment({"LANG": "zh_CN.UTF-8"}) == "zh"
    assert i18n.language_from_environment({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN"}) == "en"
    assert i18n.language_from_environment({}) == "en"


def write(tmp_path, text: str):
    path = tmp_path / "p.zh"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_misspelt_department_in_chinese(tmp_path):
    path = write(tmp_path, MINIMAL.replace("deny horizontal(tax) -> vertical(audit)",
                                           "deny horizontal(tax) -> vertical(adit)"))
    r = CliRunner().invoke(main, ["--lang", "zh", "check", path])
    assert r.exit_code == 2
    assert f"{path}:45:38: 错误: 未定义的部门 'adit': 您是否想输入 'audit'？" in r.stderr
    assert f"{path}: 1 个错误" in r.stderr
    english = CliRunner().invoke(main, ["check", path])
    assert "error: undefined department 'adit': did you mean 'audit'?" in english.stderr


def test_lang_from_the_locale_in_a_fresh_process(tmp_path, zh):
    path = write(tmp_path, MINIMAL.replace("    vertical   10.0.0.0/16   site /24  # prov",
                                           "    vertcal   10.0.0.0/16   site /24  # prov"))
    r = zh("check", path, env={"LANG": "zh_CN.UTF-8"})
    assert r.returncode == 2
    err = r.stderr.decode()
    assert "错误: 意外的 'vertcal'，应为以下之一：" in err and "您是否想输入 'vertical'？" in err
    assert "Traceback" not in err


def test_verdict_table_in_chinese_and_json_in_english():
    r = CliRunner().invoke(main, ["--lang", "zh", "verify", "policies/minimal.zh",
                                  "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert "断言" in r.stdout and "已证明 5 项，违反 0 项，未知 0 项" in r.stdout
    r = CliRunner().invoke(main, ["--lang", "zh", "verify", "policies/minimal.zh",
                                  "--workers", "1", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert not CJK.search(r.stdout)
    assert json.loads(r.stdout)["summary"]["proven"] == 5


@pytest.mark.parametrize("args", [["--lang", "zh", "--help"], ["--lang=zh", "--help"]])
def test_help_in_chinese(args, restore_help):
    r = CliRunner().invoke(main, args)
    assert "消息、帮助、表格和报告的语言" in r.stdout
    assert "内部错误时显示调用栈" in r.stdout


@pytest.fixture
def restore_help():
    """Showing help translates it in place (the process ends after it): put the English back
    so later tests in this process read English help."""
    commands = [main, *main.commands.values()]
    saved = [(c, c.help, c.short_help, [(p, getattr(p, "help", None)) for p in c.params])
             for c in commands]
    yield
    for c, help_text, short_help, params in saved:
        c.help, c.short_help = help_text, short_help
        for p, text in params:
            if text is not None:
                p.help = text


@pytest.mark.parametrize(("command", "words"), [
    ("fmt", ["将策略文件 FILES 重写为唯一的规范格式", "不做修改：列出每个不符合规范格式的文件"]),
    ("lsp", ["经标准输入输出通信的语言服务器协议（LSP）服务"]),
    ("lint", ["警告的输出格式。", "每次求解器查询的秒数。"]),
    ("compile", ["输出目录（原子替换）。", "目标：all，或以逗号分隔的列表。"]),
    ("audit", ["每个证明义务、每个求解器的秒数。"]),
])
def test_command_help_in_chinese(command, words, restore_help):
    """A command's own help and its options' help come from the catalog."""
    english = CliRunner().invoke(main, ["--lang", "en", command, "--help"])
    assert english.exit_code == 0 and not CJK.search(english.stdout), english.output
    r = CliRunner().invoke(main, ["--lang", "zh", command, "--help"])
    assert r.exit_code == 0, r.output
    for w in words:
        assert w in r.stdout


def test_command_list_in_chinese(restore_help):
    """fmt and lsp have a short help in the command list, translated like the others."""
    r = CliRunner().invoke(main, ["--lang", "zh", "--help"])
    assert "将策略文件重写为唯一的规范格式。" in r.stdout
    assert "供编辑器使用的语言服务器协议（LSP）服务" in r.stdout


def test_report_page_in_chinese(tmp_path):
    """The HTML report's own words come from the catalog; the policy's names stay as written."""
    zh_page, en_page = tmp_path / "zh.html", tmp_path / "en.html"
    for lang, page in (("zh", zh_page), ("en", en_page)):
        r = CliRunner().invoke(main, ["--lang", lang, "report", "policies/minimal.zh",
                                      "-o", str(page), "--workers", "1"])
        assert r.exit_code == 0, r.output
    zh = zh_page.read_text("utf-8")
    assert '<html lang="zh-CN">' in zh and "<h1>审计报告: " in zh
    assert "<h2>2. 断言</h2>" in zh and "<h2>3. 纵深防御</h2>" in zh
    assert '<span class="status proven">已证明</span>' in zh
    assert "<th class=\"num\">访问控制列表</th>" in zh  # 访问控制列表: ACL, as engineers say
    assert "tax cannot reach audit&#39;s vertical net" in zh  # a name from the policy
    # the reachability matrix: caption, figure notes, cell counts and the SVG's legend
    assert "<figcaption>行为源，列为目的：" in zh
    assert "（V 违反，W 豁免，A 允许，D 拒绝），因此灰度下也能阅读" in zh
    assert re.search(r"单元格：\n\d+ 违反, \d+ 豁免, \d+ 允许, \d+ 拒绝\.", zh)
    assert "“允许”依据策略的规则" in zh
    assert ">违反：证明找到了两者之间违反某条断言的数据包</text>" in zh
    assert ">拒绝：没有规则放行（deny 规则或隐式拒绝）</text>" in zh
    # the verdict, the section notes and the topology caption
    assert '<p class="headline">已证明</p>\n<p>在编译出的网络上，全部 5 条断言均已证明。</p>' in zh
    assert "<p class=\"note\">每条隔离断言还会再检查两次" in zh
    assert "<figcaption>来自编译模型的地区树，顶层在左" in zh
    assert "<p>本报告中的任何内容都无需凭信任接受。安装 zongheng " in zh
    assert "<p class=\"note\">证明包的清单没有签名" in zh
    assert "<p>任何部门的纵网都不能到达其他部门的横网或纵网。</p>" in zh  # a built-in's meaning
    assert "<td>地区的中心平台路由器（VRF、MPLS L3VPN）</td>" in zh  # a device role
    assert "<p>策略 <code>policies/minimal.zh</code>，sha256 <code>" in zh  # the page's header
    assert "<td>z3 回答 unsat：在编译出的网络上没有任何数据包违反该断言</td>" in zh  # summary
    assert "<p class=\"note\">已证明表示 z3 回答 unsat：它表明在编译出的网络上" in zh
    en = en_page.read_text("utf-8")
    assert '<html lang="en">' in en and "<h2>2. Assertions</h2>" in en and not CJK.search(
        en.split("<style>")[0])


def zh_check(tmp_path, old: str, new: str, command: str = "check"):
    """``zongheng --lang zh COMMAND`` on minimal.zh with one line changed."""
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    return path, CliRunner().invoke(main, ["--lang", "zh", command, path])


@pytest.mark.parametrize(("old", "new", "message"), [
    ("department audit", "department tax",
     "28:12: 错误: 重复的部门 'tax'（首次声明于第 22 行）"),
    ("sites prov, north", "sites prov, west", "31:17: 错误: 未定义的地区 'west'"),
    ("horizontal 59.64.32.0/24 site /28", "horizontal 59.64.16.0/24 site /28",
     "30:16: 错误: 部门 'audit' 的横网地址块 59.64.16.0/24 与部门 'tax' 的横网地址块 "
     "59.64.16.0/24 重叠"),
    ("vertical   10.0.0.0/16   site /24  # prov", "vertical   10.0.0.0/23   site /24  # prov",
     "23:16: 错误: 纵网地址块 10.0.0.0/23 太小：3 个站点（每个 /24）需要的超过它的 2 个地址块"),
])
def test_semantic_errors_of_check_in_chinese(tmp_path, old, new, message):
    path, r = zh_check(tmp_path, old, new)
    assert r.exit_code == 2
    assert f"{path}:{message}" in r.stderr
    assert "Traceback" not in r.stderr


def test_builder_errors_of_the_parser_in_chinese(tmp_path):
    path, r = zh_check(tmp_path, "    sites prov, north", "    sites prov, north\n    sites all")
    assert r.exit_code == 2
    assert f"{path}:32:5: 错误: 重复的 'sites' 行" in r.stderr


def test_ambiguous_destination_of_resolve_in_chinese(tmp_path):
    path, r = zh_check(tmp_path, "allow horizontal    -> horizontal",
                       "allow horizontal -> vertical(*)")
    assert r.exit_code == 2
    assert (f"{path}:40:5: 错误: 目的不明确：此规则需要 VRF H-audit 到达部门 'audit' 和 'tax' "
            "的纵网站点，而它们的地址重叠（10.0.0.0/23）（与第 38 行的规则一起）") in r.stderr


def test_shadowed_rule_of_lint_in_chinese(tmp_path):
    path, r = zh_check(tmp_path, "allow horizontal    -> horizontal",
                       "allow horizontal    -> horizontal\n"
                       "    allow horizontal(tax) -> horizontal(audit)", command="lint")
    assert r.exit_code == 0, r.output
    assert (f"{path}:41:5: 警告: 规则被前面位于第 40 行（allow）的规则遮蔽：它永远不会匹配"
            "（冗余：前面的规则已经 allow 它的全部流量）") in r.stderr + r.stdout
    assert r.stderr.endswith("1 个警告\n")  # the summary line
    english = CliRunner().invoke(main, ["lint", path])
    assert ("rule is shadowed by the earlier rule at line 40 (allow): it never matches "
            "(redundant: the earlier rules already allow all of its traffic)"
            in english.stderr + english.stdout)
