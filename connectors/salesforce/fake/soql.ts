/**
 * The subset of SOQL the Salesforce connector sends, parsed (not pattern-matched) so the fake
 * answers exactly what a query asks: `SELECT f[, f…] FROM Object [WHERE cond [AND cond…]]
 * [ORDER BY f [ASC|DESC]] [LIMIT n]`, with `cond` = `field = literal`, `field != literal` or
 * `field IN (literal, …)`; literals are 'quoted strings' (backslash escapes), numbers, true, false,
 * null. Source: SOQL and SOSL Reference, "SOQL SELECT Syntax" and "Quoted String Escape Sequences".
 */

export type SoqlLiteral = string | number | boolean | null;

export type SoqlCondition =
  | { field: string; op: "=" | "!="; value: SoqlLiteral }
  | { field: string; op: "IN"; values: SoqlLiteral[] };

export interface SoqlQuery {
  fields: string[];
  object: string;
  where: SoqlCondition[];
  orderBy: { field: string; descending: boolean } | null;
  limit: number | null;
}

export class SoqlSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SoqlSyntaxError";
  }
}

type Token =
  | { kind: "word"; text: string }
  | { kind: "string"; text: string }
  | { kind: "number"; text: string }
  | { kind: "punct"; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source[i] as string;
    if (/\s/.test(char)) {
      i++;
    } else if (char === "'") {
      let text = "";
      i++;
      for (;;) {
        if (i >= source.length) throw new SoqlSyntaxError("unterminated string literal");
        const c = source[i] as string;
        if (c === "\\") {
          const next = source[i + 1];
          if (next === undefined) throw new SoqlSyntaxError("dangling escape");
          text += next === "n" ? "\n" : next === "t" ? "\t" : next;
          i += 2;
        } else if (c === "'") {
          i++;
          break;
        } else {
          text += c;
          i++;
        }
      }
      tokens.push({ kind: "string", text });
    } else if (/[A-Za-z_]/.test(char)) {
      const match = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(source.slice(i)) as RegExpExecArray;
      tokens.push({ kind: "word", text: match[0] });
      i += match[0].length;
    } else if (/[-\d]/.test(char)) {
      const match = /^-?\d+(\.\d+)?/.exec(source.slice(i));
      if (!match) throw new SoqlSyntaxError(`unexpected ${JSON.stringify(char)}`);
      tokens.push({ kind: "number", text: match[0] });
      i += match[0].length;
    } else if (source.startsWith("!=", i)) {
      tokens.push({ kind: "punct", text: "!=" });
      i += 2;
    } else if ("(),=".includes(char)) {
      tokens.push({ kind: "punct", text: char });
      i++;
    } else {
      throw new SoqlSyntaxError(`unexpected ${JSON.stringify(char)}`);
    }
  }
  return tokens;
}

/** Parses one query; throws `SoqlSyntaxError` (the fake answers 400 MALFORMED_QUERY). */
export function parseSoql(source: string): SoqlQuery {
  const tokens = tokenize(source);
  let position = 0;
  const peek = () => tokens[position];
  const next = (): Token => {
    const token = tokens[position++];
    if (!token) throw new SoqlSyntaxError("unexpected end of query");
    return token;
  };
  const isKeyword = (token: Token | undefined, keyword: string) =>
    token?.kind === "word" && token.text.toUpperCase() === keyword;
  const expectKeyword = (keyword: string) => {
    const token = next();
    if (!isKeyword(token, keyword)) throw new SoqlSyntaxError(`expected ${keyword}, got ${token.text}`);
  };
  const expectPunct = (text: string) => {
    const token = next();
    if (token.kind !== "punct" || token.text !== text) {
      throw new SoqlSyntaxError(`expected ${text}, got ${token.text}`);
    }
  };
  const field = (): string => {
    const token = next();
    if (token.kind !== "word") throw new SoqlSyntaxError(`expected a field name, got ${token.text}`);
    return token.text;
  };
  const literal = (): SoqlLiteral => {
    const token = next();
    if (token.kind === "string") return token.text;
    if (token.kind === "number") return Number(token.text);
    if (token.kind === "word") {
      const word = token.text.toLowerCase();
      if (word === "true") return true;
      if (word === "false") return false;
      if (word === "null") return null;
    }
    throw new SoqlSyntaxError(`expected a literal, got ${token.text}`);
  };

  expectKeyword("SELECT");
  const fields = [field()];
  while (peek()?.kind === "punct" && peek()?.text === ",") {
    next();
    fields.push(field());
  }
  expectKeyword("FROM");
  const object = field();
  const where: SoqlCondition[] = [];
  if (isKeyword(peek(), "WHERE")) {
    next();
    for (;;) {
      const name = field();
      if (isKeyword(peek(), "IN")) {
        next();
        expectPunct("(");
        const values = [literal()];
        while (peek()?.kind === "punct" && peek()?.text === ",") {
          next();
          values.push(literal());
        }
        expectPunct(")");
        where.push({ field: name, op: "IN", values });
      } else {
        const op = next();
        if (op.kind !== "punct" || (op.text !== "=" && op.text !== "!=")) {
          throw new SoqlSyntaxError(`expected =, != or IN after ${name}`);
        }
        where.push({ field: name, op: op.text, value: literal() });
      }
      if (!isKeyword(peek(), "AND")) break;
      next();
    }
  }
  let orderBy: SoqlQuery["orderBy"] = null;
  if (isKeyword(peek(), "ORDER")) {
    next();
    expectKeyword("BY");
    const name = field();
    let descending = false;
    if (isKeyword(peek(), "ASC")) next();
    else if (isKeyword(peek(), "DESC")) {
      next();
      descending = true;
    }
    orderBy = { field: name, descending };
  }
  let limit: number | null = null;
  if (isKeyword(peek(), "LIMIT")) {
    next();
    const token = next();
    if (token.kind !== "number" || !/^\d+$/.test(token.text))
      throw new SoqlSyntaxError("LIMIT takes a count");
    limit = Number(token.text);
  }
  if (position < tokens.length) throw new SoqlSyntaxError(`unexpected ${tokens[position]?.text}`);
  return { fields, object, where, orderBy, limit };
}
