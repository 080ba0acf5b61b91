#include "cli/man_page.h"

#include <cctype>
#include <cstdint>

#include <fmt/format.h>

namespace tcpmax::cli {
namespace {

// Decodes one UTF-8 sequence at text[i]; advances i. Malformed bytes are U+FFFD.
uint32_t NextCodepoint(std::string_view text, size_t& i) {
  auto c = static_cast<unsigned char>(text[i++]);
  if (c < 0x80) return c;
  int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : -1;
  if (extra < 0) return 0xfffd;
  uint32_t cp = c & (0x3f >> extra);
  for (int k = 0; k < extra; ++k) {
    if (i >= text.size() || (static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) return 0xfffd;
    cp = (cp << 6) | (static_cast<unsigned char>(text[i++]) & 0x3f);
  }
  return cp;
}

// Text for roff: backslashes escaped, non-ASCII as groff glyph names (so the
// page renders the same in any locale), and in `code` every '-' a \- (an
// option's hyphen, which copies as a hyphen-minus).
std::string Escape(std::string_view text, bool code = false) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = NextCodepoint(text, i);
    switch (cp) {
      case '\\': out += "\\e"; break;
      case '-': out += code ? "\\-" : "-"; break;
      case 0x2013: out += "\\(en"; break;
      case 0x2014: out += "\\(em"; break;
      case 0x00d7: out += "\\(mu"; break;
      case 0x2019: out += "'"; break;
      case 0x201c: case 0x201d: out += "\""; break;
      default:
        if (cp < 0x80) out += static_cast<char>(cp);
        else out += fmt::format("\\[u{:04X}]", cp);
    }
  }
  return out;
}

// A text line of the page: a leading '.' or '\'' would be read as a request.
std::string TextLine(std::string line) {
  size_t start = line.find_first_not_of(' ');
  if (start == std::string::npos) return "";
  line.erase(0, start);
  if (line[0] == '.' || line[0] == '\'') line.insert(0, "\\&");
  return line + "\n";
}

std::string Bold(std::string_view text) { return "\\fB" + Escape(text, true) + "\\fR"; }
std::string Italic(std::string_view text) { return "\\fI" + Escape(text, true) + "\\fR"; }

// Joins the lines of a description into one paragraph.
std::string OneParagraph(std::string_view text) {
  std::string out;
  for (char c : text) out += c == '\n' ? ' ' : c;
  return out;
}

std::string Header(std::string_view name, int section, std::string_view description, const ManInfo& info) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return fmt::format(".TH \"{}\" {} \"{}\" \"tcpmax {}\" \"tcpmax manual\"\n.nh\n.ad l\n.SH NAME\n{} \\- {}\n",
                     upper, section, info.date, info.version, Escape(name, true), Escape(description));
}

std::string ExitStatus() {
  return ".SH EXIT STATUS\n"
         ".TP\n.B 0\nthe job ran and succeeded (or help was printed)\n"
         ".TP\n.B 1\nthe job ran and failed: a system call error, a verification that disagreed, a limit hit too "
         "early\n"
         ".TP\n.B 2\nbad flags or arguments: one line on standard error names the flag; nothing was done\n";
}

std::string FlagTag(const FlagSpec& f) {
  if (!f.positional.empty()) return Italic(f.positional) + "\n";
  std::string tag;
  for (const auto& names : {f.short_names, f.long_names}) {
    for (const std::string& n : names) tag += (tag.empty() ? "" : ", ") + Bold(n);
  }
  if (f.takes_value()) tag += " " + Italic(f.value_name);
  return tag + "\n";
}

std::string FlagEntry(const FlagSpec& f) {
  std::string out = ".TP\n" + FlagTag(f) + TextLine(Escape(OneParagraph(f.description)));
  std::vector<std::string> notes;
  if (!f.values.empty()) {
    std::string list;
    for (const std::string& v : f.values) list += (list.empty() ? "" : ", ") + Bold(v);
    notes.push_back((f.value_list ? "A comma-separated list of: " : "One of: ") + list + ".");
  }
  if (!f.default_value.empty()) notes.push_back("Default: " + Bold(f.default_value) + ".");
  if (f.required) notes.push_back("Required.");
  if (f.repeatable) notes.push_back("Repeatable.");
  for (const std::string& n : notes) out += ".br\n" + TextLine(n);
  return out;
}

std::string Synopsis(const CommandSpec& c) {
  std::string line = ".B tcpmax " + Escape(c.path, true) + "\n[\\fIflags\\fR]";
  for (const FlagSpec& f : c.flags) {
    if (f.positional.empty()) continue;
    line += f.required ? fmt::format(" {}", Italic(f.positional)) : fmt::format(" [{}]", Italic(f.positional));
  }
  return line + "\n";
}

// The arguments and flags of `c`, each group under `heading` (a macro line
// taking the title: ".SS", or ".PP\n.B" one level down).
std::string Options(const CommandSpec& c, std::string_view heading) {
  std::string args, opts;
  for (const FlagSpec& f : c.flags) (f.positional.empty() ? opts : args) += FlagEntry(f);
  std::string out;
  if (!args.empty()) out += fmt::format("{} Arguments\n{}", heading, args);
  if (!opts.empty()) out += fmt::format("{} Flags\n{}", heading, opts);
  return out;
}

// ---- Markdown (the subset docs/theory.md uses) ----

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// **bold**, `code`, [text](link), <url>.
std::string Inline(std::string_view md) {
  std::string out;
  size_t i = 0;
  auto until = [&](std::string_view close, size_t from) { return md.find(close, from); };
  while (i < md.size()) {
    if (StartsWith(md.substr(i), "**")) {
      if (size_t end = until("**", i + 2); end != std::string_view::npos) {
        out += "\\fB" + Escape(md.substr(i + 2, end - i - 2)) + "\\fR";
        i = end + 2;
        continue;
      }
    }
    if (md[i] == '`') {
      if (size_t end = until("`", i + 1); end != std::string_view::npos) {
        out += Bold(md.substr(i + 1, end - i - 1));
        i = end + 1;
        continue;
      }
    }
    if (md[i] == '[') {
      size_t mid = until("](", i + 1);
      size_t end = mid == std::string_view::npos ? mid : until(")", mid + 2);
      if (end != std::string_view::npos) {
        std::string_view text = md.substr(i + 1, mid - i - 1), link = md.substr(mid + 2, end - mid - 2);
        out += Escape(text) + (text == link ? "" : " (" + Escape(link) + ")");
        i = end + 1;
        continue;
      }
    }
    if (md[i] == '<' && StartsWith(md.substr(i + 1), "http")) {
      if (size_t end = until(">", i + 1); end != std::string_view::npos) {
        out += Escape(md.substr(i + 1, end - i - 1));
        i = end + 1;
        continue;
      }
    }
    size_t j = i;
    NextCodepoint(md, j);
    out += Escape(md.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  return lines;
}

std::vector<std::string> Cells(std::string_view row) {
  std::vector<std::string> cells;
  size_t start = row.find('|') + 1;
  while (start < row.size()) {
    size_t bar = row.find('|', start);
    if (bar == std::string_view::npos) break;
    std::string_view cell = row.substr(start, bar - start);
    size_t a = cell.find_first_not_of(' '), b = cell.find_last_not_of(' ');
    cells.emplace_back(a == std::string_view::npos ? std::string_view() : cell.substr(a, b - a + 1));
    start = bar + 1;
  }
  return cells;
}

bool StartsBlock(std::string_view line) {
  return line.empty() || StartsWith(line, "#") || StartsWith(line, "- ") || StartsWith(line, "|") ||
         StartsWith(line, "    ");
}

// A table as tagged paragraphs: the first cell is the tag, the others follow
// with their column names (no tbl: no width to overflow).
std::string Table(const std::vector<std::string_view>& lines, size_t& i) {
  std::vector<std::string> head = Cells(lines[i++]);
  if (i < lines.size() && StartsWith(lines[i], "|-")) ++i;
  std::string out;
  for (; i < lines.size() && StartsWith(lines[i], "|"); ++i) {
    std::vector<std::string> cells = Cells(lines[i]);
    if (cells.empty()) continue;
    out += ".TP\n" + TextLine(Inline(cells[0]));
    for (size_t k = 1; k < cells.size(); ++k) {
      if (cells[k].empty()) continue;
      std::string label = k < head.size() && !head[k].empty() ? Inline(head[k]) + ": " : "";
      out += (k > 1 ? ".br\n" : "") + TextLine(label + Inline(cells[k]));
    }
  }
  return out;
}

std::string CodeBlock(const std::vector<std::string_view>& lines, size_t& i) {
  std::string out = ".PP\n.RS 4\n.nf\n";
  while (i < lines.size()) {
    bool blank = lines[i].find_first_not_of(' ') == std::string_view::npos;
    bool more = blank && i + 1 < lines.size() && StartsWith(lines[i + 1], "    ");
    if (!StartsWith(lines[i], "    ") && !more) break;
    out += blank ? "\n" : "\\&" + Escape(lines[i].substr(4), true) + "\n";
    ++i;
  }
  return out + ".fi\n.RE\n";
}

std::string Bullet(const std::vector<std::string_view>& lines, size_t& i) {
  std::string text(lines[i++].substr(2));
  while (i < lines.size() && StartsWith(lines[i], "  ") && !StartsWith(lines[i], "    ")) {
    text += ' ';
    text += lines[i++].substr(2);
  }
  return fmt::format(".IP \\(bu 2\n{}", TextLine(Inline(text)));
}

std::string Paragraph(const std::vector<std::string_view>& lines, size_t& i) {
  std::string text;
  while (i < lines.size() && !(text.size() > 0 && StartsBlock(lines[i]))) {
    if (!text.empty()) text += ' ';
    text += lines[i++];
  }
  return fmt::format(".PP\n{}", TextLine(Inline(text)));
}

// A heading's text as one quoted macro argument.
std::string HeadingArg(std::string_view md) {
  std::string out;
  for (char c : Inline(md)) out += c == '"' ? std::string("\\(dq") : std::string(1, c);
  return "\"" + out + "\"\n";
}

std::string MarkdownBody(const std::vector<std::string_view>& lines) {
  // Text before the first heading is the description.
  std::string out = ".SH DESCRIPTION\n";
  for (size_t i = 0; i < lines.size();) {
    std::string_view line = lines[i];
    if (line.find_first_not_of(' ') == std::string_view::npos || StartsWith(line, "# ")) {
      ++i;
    } else if (StartsWith(line, "## ")) {
      out += ".SH " + HeadingArg(line.substr(3));
      ++i;
    } else if (StartsWith(line, "### ")) {
      out += ".SS " + HeadingArg(line.substr(4));
      ++i;
    } else if (StartsWith(line, "    ")) {
      out += CodeBlock(lines, i);
    } else if (StartsWith(line, "|")) {
      out += Table(lines, i);
    } else if (StartsWith(line, "- ")) {
      out += Bullet(lines, i);
    } else {
      out += Paragraph(lines, i);
    }
  }
  return out;
}

std::string SeeAlso(const std::vector<std::string>& pages) {
  std::string out = ".SH SEE ALSO\n";
  for (size_t k = 0; k < pages.size(); ++k) out += ".BR " + pages[k] + (k + 1 < pages.size() ? " ,\n" : "\n");
  return out;
}

}  // namespace

std::string ManPageName(const CommandSpec& command) {
  std::string name = "tcpmax-" + command.path;
  for (char& c : name) c = c == ' ' ? '-' : c;
  return name;
}

std::string CommandManPage(const CommandSpec& c, const ManInfo& info) {
  std::string out = Header(ManPageName(c), 1, c.summary, info) + ".SH SYNOPSIS\n";
  if (c.subcommands.empty()) out += Synopsis(c);
  for (const CommandSpec& sub : c.subcommands) out += Synopsis(sub) + ".br\n";
  out += ".SH DESCRIPTION\n" + TextLine(Escape(OneParagraph(c.description)));
  if (c.subcommands.empty()) {
    out += ".SH OPTIONS\n" + Options(c, ".SS");
  } else {
    out += ".SH COMMANDS\n";
    for (const CommandSpec& sub : c.subcommands) {
      out += ".SS \"tcpmax " + Escape(sub.path, true) + "\"\n" + TextLine(Escape(OneParagraph(sub.description)));
      out += Options(sub, ".PP\n.B");
    }
  }
  return out + ExitStatus() + SeeAlso({"tcpmax (1)", "tcpmax (7)"});
}

std::string MainManPage(const std::vector<CommandSpec>& commands, const ManInfo& info) {
  std::string out = Header("tcpmax", 1, "how many TCP connections can this Linux box hold, and what stops it first",
                           info);
  out += ".SH SYNOPSIS\n.B tcpmax\n\\fIcommand\\fR [\\fIflags\\fR]\n.br\n.B tcpmax help\n[\\fIcommand\\fR]\n";
  out += ".SH DESCRIPTION\n" +
         TextLine("The number of TCP connections a Linux box can hold is the minimum over a chain of limits: the "
                  "4-tuple, file descriptors (RLIMIT_NOFILE, fs.nr_open, fs.file-max), ephemeral ports, kernel "
                  "memory per socket, epoll watches, conntrack and NAT tables, cgroups. " +
                  Bold("tcpmax") +
                  " reads every limit and names the one that binds first (limits), counts the connections a box "
                  "holds (count), holds and opens connections (serve, load), climbs to the real ceiling of this "
                  "box and verifies it with the kernel (probe), and goes past the kernel with a TCP engine in "
                  "user space (userland). The model and this machine's measured numbers are in tcpmax(7).") +
         ".PP\n" +
         TextLine("Anything tcpmax changes on the system (sysctls, network namespaces, routes) it changes only "
                  "when asked, writes to a journal first and undoes on every exit; after a hard kill, the next "
                  "run or tcpmax restore undoes it. Traffic goes to loopback or to namespaces tcpmax created.");
  out += ".SH COMMANDS\n";
  std::vector<std::string> see_also;
  for (const CommandSpec& c : commands) {
    // \% keeps "tcpmax-probe(1)" from breaking at its hyphen.
    out += ".TP\n" + Bold(c.path) + "\n" + TextLine(Escape(c.summary) + "; see \\%" + ManPageName(c) + "(1).");
    see_also.push_back(ManPageName(c) + " (1)");
  }
  out += ExitStatus();
  out += ".SH FILES\n.TP\n.I /run/tcpmax\n" +
         TextLine("the journals of system changes and the run lock (see tcpmax-restore(1))");
  see_also.push_back("tcpmax (7)");
  see_also.push_back("ss (8)");
  return out + SeeAlso(see_also);
}

std::string TheoryManPage(std::string_view markdown, const ManInfo& info) {
  std::vector<std::string_view> lines = Lines(markdown);
  std::string title = "the model behind tcpmax limits";
  for (std::string_view l : lines) {
    if (StartsWith(l, "# ")) {
      title = std::string(l.substr(2));
      break;
    }
  }
  // NAME takes plain text: drop the Markdown code marks.
  std::string plain;
  for (char c : title) {
    if (c != '`') plain += c;
  }
  return Header("tcpmax", 7, plain, info) + MarkdownBody(lines) + SeeAlso({"tcpmax (1)", "tcpmax-limits (1)"});
}

}  // namespace tcpmax::cli
