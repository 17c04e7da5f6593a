//! A product's flags on the command line, from its declaration: every field an edit may change
//! (`Product::EDITABLE`, except the photos, which are files) is one `--flag`, read by the
//! field type's rules for typed input (`ProductPatch::set`, the same as a spreadsheet cell or
//! a console field). A new field gets its flag here without a line of code; its help words are
//! chosen in `text/help.rs` ([`crate::text::help::field`]).

use crate::text::help as h;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use karya_shared::model::{Product, ProductPatch};

/// Fields typed as files or not typed at all.
const NOT_FLAGS: &[&str] = &["photos"];

use crate::records::REQUIRED as REQUIRED_TO_ADD;

/// The flag of a field: the shorter word people type, or its name with dashes.
pub fn flag(field: &str) -> String {
    match field {
        "price_idr" => "price".into(),
        "certifications" => "cert".into(),
        "nominated" => "nominate".into(),
        other => other.replace('_', "-"),
    }
}

/// The fields that are flags, in declaration order.
pub fn flag_fields() -> impl Iterator<Item = &'static str> {
    Product::EDITABLE
        .iter()
        .copied()
        .filter(|f| !NOT_FLAGS.contains(f))
}

fn is_list(field: &str) -> bool {
    field == "certifications"
}

fn is_yes_no(field: &str) -> bool {
    field == "nominated"
}

/// Checks what was typed for `field` as the patch will read it, so clap reports a bad value
/// with the flag named, before any command runs.
fn parser(field: &'static str) -> impl Fn(&str) -> Result<String, String> + Clone {
    move |text: &str| {
        ProductPatch::default()
            .set(field, text)
            .map(|_| text.to_string())
            .map_err(|e| e.reason)
    }
}

fn augment(mut cmd: Command, adding: bool) -> Command {
    for field in flag_fields() {
        let mut arg = Arg::new(field)
            .long(flag(field))
            .value_name(flag(field).to_uppercase())
            .help(h::field(field, adding))
            .value_parser(clap::builder::ValueParser::new(parser(field)));
        if is_list(field) {
            arg = arg.action(ArgAction::Append);
        } else if is_yes_no(field) {
            // `--nominate` alone means yes; `--nominate tidak` takes it back.
            arg = arg
                .num_args(0..=1)
                .default_missing_value("ya")
                .allow_hyphen_values(false);
        }
        if adding && REQUIRED_TO_ADD.contains(&field) {
            arg = arg.required(true);
        }
        cmd = cmd.arg(arg);
    }
    cmd
}

fn read(m: &ArgMatches) -> Result<ProductPatch, clap::Error> {
    let mut patch = ProductPatch::default();
    for field in flag_fields() {
        let Some(values) = m.get_many::<String>(field) else {
            continue;
        };
        let text = values.map(String::as_str).collect::<Vec<_>>().join(";");
        patch.set(field, &text).map_err(|e| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("--{}: {}\n", flag(field), e.reason),
            )
        })?;
    }
    Ok(patch)
}

/// The product fields of `product add`: name, category and price must be given.
#[derive(Debug, Clone, Default)]
pub struct NewFields(pub ProductPatch);

/// The product fields of `product edit`: those given change, the others stay.
#[derive(Debug, Clone, Default)]
pub struct EditFields(pub ProductPatch);

macro_rules! fields_args {
    ($name:ident, $adding:literal) => {
        impl FromArgMatches for $name {
            fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
                read(m).map($name)
            }
            fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
                *self = Self::from_arg_matches(m)?;
                Ok(())
            }
        }
        impl Args for $name {
            fn augment_args(cmd: Command) -> Command {
                augment(cmd, $adding)
            }
            fn augment_args_for_update(cmd: Command) -> Command {
                augment(cmd, false)
            }
        }
    };
}

fields_args!(NewFields, true);
fields_args!(EditFields, false);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Add {
        #[command(flatten)]
        fields: NewFields,
    }

    #[derive(Debug, clap::Parser)]
    struct Edit {
        #[command(flatten)]
        fields: EditFields,
    }

    /// Every field an edit may change is a flag with help words a person chose, and reads
    /// what people type by its type's rules.
    #[test]
    fn every_editable_field_is_a_flag_read_as_its_type() {
        use clap::Parser;
        for field in flag_fields() {
            for adding in [true, false] {
                assert!(
                    !h::field(field, adding).is_empty(),
                    "field {field} has no help words in text/help.rs"
                );
            }
        }
        let add = Add::try_parse_from([
            "add",
            "--name",
            "Kursi jati",
            "--category",
            "mebel",
            "--price",
            "Rp 1.250.000",
            "--cert",
            "halal:ID123",
            "--cert",
            "pirt:P-1:31/01/2028",
            "--nominate",
        ])
        .unwrap()
        .fields
        .0;
        assert_eq!(add.price_idr, Some(1_250_000));
        assert_eq!(add.nominated, Some(true));
        assert_eq!(add.certifications.map(|c| c.len()), Some(2));
        assert_eq!(add.workshop, None);

        let err = Add::try_parse_from(["add", "--name", "Kursi"]).unwrap_err();
        assert!(err.to_string().contains("--category"), "{err}");
        let err = Edit::try_parse_from(["edit", "--price", "mahal"]).unwrap_err();
        assert!(err.to_string().contains("--price"), "{err}");

        let edit = Edit::try_parse_from(["edit", "--nominate", "tidak", "--unit", "set"])
            .unwrap()
            .fields
            .0;
        assert_eq!(edit.nominated, Some(false));
        assert_eq!(edit.unit.as_deref(), Some("set"));
        assert_eq!(edit.name, None);
    }
}
