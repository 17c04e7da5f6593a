//! `karya-agent user add|passwd|rm|list`: console accounts from the command line (the
//! accounts themselves are the console's, in `console::users`).

use super::UserCommand;
use crate::AgentError;
use crate::config::Paths;
use crate::console::users;
use crate::text::agent as text;

/// A password from the terminal (not echoed), or one line of stdin when it is not a terminal.
fn read_password(prompt: &str) -> Result<String, AgentError> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first =
            rpassword::prompt_password(prompt).map_err(|e| AgentError::Io(e.to_string()))?;
        let again = rpassword::prompt_password(text::password_again())
            .map_err(|e| AgentError::Io(e.to_string()))?;
        if first != again {
            return Err(AgentError::Usage(text::passwords_differ().into()));
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| AgentError::Io(e.to_string()))?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

/// `karya-agent user ...`.
pub fn command(paths: &Paths, cmd: UserCommand) -> Result<(), AgentError> {
    let store = crate::store::open_store(paths)?;
    match cmd {
        UserCommand::Add { name, admin } => {
            users::check_name(&name)?;
            let password = read_password(text::password_prompt())?;
            users::set_password(&store, &name, &password, true)?;
            if admin {
                users::set_admin(&store, &name, true)?;
            }
            let listen = crate::config::AgentConfig::load(paths)
                .map(|c| c.console.listen())
                .unwrap_or_default();
            println!("{}", text::account_added(&name, &listen));
        }
        UserCommand::Admin { name, off } => {
            users::set_admin(&store, &name, !off)?;
            println!("{}", text::account_admin(&name, !off));
        }
        UserCommand::Passwd { name } => {
            let password = read_password(text::new_password_prompt())?;
            users::set_password(&store, &name, &password, false)?;
            println!("{}", text::password_changed(&name));
        }
        UserCommand::Rm { name } => {
            if !users::remove(&store, &name)? {
                return Err(AgentError::Usage(text::no_account(&name)));
            }
            println!("{}", text::account_removed(&name));
        }
        UserCommand::List => {
            let rows = users::list(&store)?;
            if rows.is_empty() {
                println!("{}", text::no_accounts());
            }
            for (name, at, failed, admin) in rows {
                let since =
                    karya_shared::localtime::format(&at, karya_shared::localtime::Zone::from_env());
                let mut line = text::account_line(&name, &since, failed);
                if admin {
                    line.push_str(text::account_is_admin());
                }
                println!("{line}");
            }
        }
    }
    Ok(())
}
