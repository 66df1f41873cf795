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
  return new SoqlParser(tokenize(source)).query();
}

/** A recursive-descent reader over the tokens, one method per clause of the grammar above. */
class SoqlParser {
  private position = 0;

  constructor(private readonly tokens: Token[]) {}

  query(): SoqlQuery {
    this.expectKeyword("SELECT");
    const fields = this.fieldList();
    this.expectKeyword("FROM");
    const object = this.field();
    const where = this.whereClause();
    const orderBy = this.orderByClause();
    const limit = this.limitClause();
    if (this.position < this.tokens.length)
      throw new SoqlSyntaxError(`unexpected ${this.tokens[this.position]?.text}`);
    return { fields, object, where, orderBy, limit };
  }

  private fieldList(): string[] {
    const fields = [this.field()];
    while (this.atComma()) {
      this.next();
      fields.push(this.field());
    }
    return fields;
  }

  private whereClause(): SoqlCondition[] {
    const where: SoqlCondition[] = [];
    if (!this.isKeyword(this.peek(), "WHERE")) return where;
    this.next();
    for (;;) {
      where.push(this.condition());
      if (!this.isKeyword(this.peek(), "AND")) break;
      this.next();
    }
    return where;
  }

  private condition(): SoqlCondition {
    const name = this.field();
    if (this.isKeyword(this.peek(), "IN")) {
      this.next();
      this.expectPunct("(");
      const values = [this.literal()];
      while (this.atComma()) {
        this.next();
        values.push(this.literal());
      }
      this.expectPunct(")");
      return { field: name, op: "IN", values };
    }
    const op = this.next();
    if (op.kind !== "punct" || (op.text !== "=" && op.text !== "!=")) {
      throw new SoqlSyntaxError(`expected =, != or IN after ${name}`);
    }
    return { field: name, op: op.text, value: this.literal() };
  }

  private orderByClause(): SoqlQuery["orderBy"] {
    if (!this.isKeyword(this.peek(), "ORDER")) return null;
    this.next();
    this.expectKeyword("BY");
    const name = this.field();
    let descending = false;
    if (this.isKeyword(this.peek(), "ASC")) this.next();
    else if (this.isKeyword(this.peek(), "DESC")) {
      this.next();
      descending = true;
    }
    return { field: name, descending };
  }

  private limitClause(): number | null {
    if (!this.isKeyword(this.peek(), "LIMIT")) return null;
    this.next();
    const token = this.next();
    if (token.kind !== "number" || !/^\d+$/.test(token.text))
      throw new SoqlSyntaxError("LIMIT takes a count");
    return Number(token.text);
  }

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private next(): Token {
    const token = this.tokens[this.position++];
    if (!token) throw new SoqlSyntaxError("unexpected end of query");
    return token;
  }

  private atComma(): boolean {
    return this.peek()?.kind === "punct" && this.peek()?.text === ",";
  }

  private isKeyword(token: Token | undefined, keyword: string): boolean {
    return token?.kind === "word" && token.text.toUpperCase() === keyword;
  }

  private expectKeyword(keyword: string): void {
    const token = this.next();
    if (!this.isKeyword(token, keyword)) throw new SoqlSyntaxError(`expected ${keyword}, got ${token.text}`);
  }

  private expectPunct(text: string): void {
    const token = this.next();
    if (token.kind !== "punct" || token.text !== text) {
      throw new SoqlSyntaxError(`expected ${text}, got ${token.text}`);
    }
  }

  private field(): string {
    const token = this.next();
    if (token.kind !== "word") throw new SoqlSyntaxError(`expected a field name, got ${token.text}`);
    return token.text;
  }

  private literal(): SoqlLiteral {
    const token = this.next();
    if (token.kind === "string") return token.text;
    if (token.kind === "number") return Number(token.text);
    if (token.kind === "word") {
      const word = token.text.toLowerCase();
      if (word === "true") return true;
      if (word === "false") return false;
      if (word === "null") return null;
    }
    throw new SoqlSyntaxError(`expected a literal, got ${token.text}`);
  }
}
