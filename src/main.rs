fn main() {
    println!("auth0-operator");
}
